package stack

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func contextOf(values map[string]any) func(string) any {
	return func(key string) any { return values[key] }
}

// Finding 1: without a healable tag every workflow could act on every
// instance of the account. Synth now refuses, naming the keys and the
// typed opt-out.
func TestHealableScopeIsRequired(t *testing.T) {
	_, err := ConfigFromContext(contextOf(map[string]any{"alarmNamePrefixes": "heal-"}))
	for _, want := range []string{"context healableTagKey and healableTagValue: required", "-c healableTagKey=medic:healable", UnsafeAllInstancesKey + "=true"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no tag: err = %v, want %q", err, want)
		}
	}
	// The stack refuses such a config too, not just the context reader.
	if err := Defaults().Validate(); err == nil || !strings.Contains(err.Error(), "healableTagKey and healableTagValue: required") {
		t.Errorf("Defaults().Validate() = %v", err)
	}
	c, err := ConfigFromContext(contextOf(map[string]any{UnsafeAllInstancesKey: "true", "alarmNamePrefixes": "heal-"}))
	if err != nil || !c.UnsafeAllInstances || c.HealableTagKey != "" {
		t.Errorf("typed opt-out: %+v, %v", c, err)
	}
	hostile := []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{UnsafeAllInstancesKey: "true", "healableTagKey": "k", "healableTagValue": "v", "alarmNamePrefixes": "heal-"}, "choose one"},
		{map[string]any{UnsafeAllInstancesKey: "yes please", "alarmNamePrefixes": "heal-"}, `context medicUnsafeAllInstances: "yes please" is not true or false`},
		{map[string]any{"healableTagKey": "k", "healableTagValue": "*", "alarmNamePrefixes": "heal-"}, "wildcards are not allowed"},
		{map[string]any{"healableTagKey": "k*", "healableTagValue": "v", "alarmNamePrefixes": "heal-"}, "wildcards are not allowed"},
		{map[string]any{"healableTagKey": "bad key", "healableTagValue": "v", "alarmNamePrefixes": "heal-"}, "not a valid tag key"},
		{map[string]any{"healableTagKey": "k", "healableTagValue": "v\"}", "alarmNamePrefixes": "heal-"}, "not a valid tag value"},
	}
	for _, c := range hostile {
		if _, err := ConfigFromContext(contextOf(c.ctx)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.ctx, err, c.want)
		}
	}
}

// Finding 7: every alarm of the region reached ingest. The deployer names
// the alarms by prefix; Medic's own and target-tracking ones never pass.
func TestAlarmNamePrefixesAreRequiredAndSafe(t *testing.T) {
	base := map[string]any{"healableTagKey": "k", "healableTagValue": "v"}
	cases := map[string]string{
		"":                 "context alarmNamePrefixes: required",
		"Medic-":           `"Medic-" would take in Medic's own alarms`,
		"Med":              `"Med" would take in Medic's own alarms`,
		"TargetTracking-x": "would take in Auto Scaling's TargetTracking-* alarms",
		"heal-*":           "is not an alarm name prefix",
		"heal-, *":         `"*" takes every alarm; list it alone`,
		"heal-\u0000":      "is not an alarm name prefix",
	}
	for prefixes, want := range cases {
		ctx := map[string]any{"alarmNamePrefixes": prefixes}
		for k, v := range base {
			ctx[k] = v
		}
		if _, err := ConfigFromContext(contextOf(ctx)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", prefixes, err, want)
		}
	}
	base["alarmNamePrefixes"] = "*"
	if c, err := ConfigFromContext(contextOf(base)); err != nil || !reflect.DeepEqual(c.AlarmNamePrefixes, []string{AllAlarms}) {
		t.Errorf("every alarm: %+v %v", c, err)
	}
}

// cdk.json's context must parse, and document every key the app reads.
func TestCDKJSONContext(t *testing.T) {
	data, err := os.ReadFile("../../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.App != "go run ./infra" {
		t.Errorf("app = %q", doc.App)
	}
	for _, key := range ContextKeys {
		if _, ok := doc.Context[key]; !ok {
			t.Errorf("cdk.json does not show context key %s", key)
		}
	}
	c, err := ConfigFromContext(contextOf(doc.Context))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.HealableTagKey, want.HealableTagValue, want.AlarmNamePrefixes = "medic:healable", "true", []string{"heal-"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("cdk.json context = %+v, want the defaults with the documented example scope %+v", c, want)
	}
	if _, shown := doc.Context[UnsafeAllInstancesKey]; shown {
		t.Errorf("cdk.json must not carry %s: the opt-out is typed on purpose", UnsafeAllInstancesKey)
	}
}

func TestConfigFromJSONAndCommandLine(t *testing.T) {
	fromJSON := map[string]any{
		"slackChannel": "#ops", "healableTagKey": "medic:healable", "healableTagValue": "yes",
		"logRetentionDays": float64(90), "pollSeconds": float64(10), "functions": []any{"ingest", "notify"},
		"opsEmail": "a@b.c", "retainData": false, "ssmDocuments": []any{"AWS-RunShellScript", "AWS-RunPowerShellScript"},
		"kvPrefix": "/ops/medic-kv", "stackName": "MedicB", "alarmNamePrefixes": []any{"heal-", "ops/"}, "logExecutionData": true,
	}
	// `cdk synth -c key=value` passes every value as a string.
	fromCLI := map[string]any{
		"slackChannel": "#ops", "healableTagKey": "medic:healable", "healableTagValue": "yes",
		"logRetentionDays": "90", "pollSeconds": " 10", "functions": "ingest, notify", "opsEmail": "a@b.c",
		"retainData": "false", "ssmDocuments": "AWS-RunShellScript,AWS-RunPowerShellScript", "kvPrefix": " /ops/medic-kv",
		"stackName": "MedicB", "alarmNamePrefixes": "heal-,ops/", "logExecutionData": "true",
	}
	want := Config{SlackChannel: "#ops", HealableTagKey: "medic:healable", HealableTagValue: "yes",
		LogRetentionDays: 90, PollSeconds: 10, Functions: []string{"ingest", "notify"}, OpsEmail: "a@b.c",
		RetainData: false, SSMDocuments: []string{"AWS-RunShellScript", "AWS-RunPowerShellScript"},
		KVPrefix: "/ops/medic-kv", StackName: "MedicB", AlarmNamePrefixes: []string{"heal-", "ops/"}, LogExecutionData: true}
	for name, ctx := range map[string]map[string]any{"json": fromJSON, "cli": fromCLI} {
		got, err := ConfigFromContext(contextOf(ctx))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{"slackChannel": 3.0}, "context slackChannel: want a string"},
		{map[string]any{"slackChannel": " "}, "context slackChannel: must not be empty"},
		{map[string]any{"logRetentionDays": 31.0}, "context logRetentionDays: 31 is not a CloudWatch Logs retention"},
		{map[string]any{"logRetentionDays": 7.5}, "context logRetentionDays: 7.5 is not a whole number"},
		{map[string]any{"logRetentionDays": "a week"}, `context logRetentionDays: "a week" is not a whole number`},
		{map[string]any{"pollSeconds": 0.0}, "context pollSeconds: 0 is outside 1..3600"},
		{map[string]any{"pollSeconds": true}, "context pollSeconds: want a number"},
		{map[string]any{"healableTagKey": "team", "healableTagValue": ""}, "context healableTagValue: required when healableTagKey is set"},
		{map[string]any{"healableTagKey": "", "healableTagValue": "x"}, "context healableTagKey: required when healableTagValue is set"},
		{map[string]any{"stackName": "1medic"}, `context stackName: "1medic" must be a letter`},
		{map[string]any{"stackName": "Medic_B"}, `context stackName: "Medic_B" must be a letter`},
		{map[string]any{"logExecutionData": "sometimes"}, `context logExecutionData: "sometimes" is not true or false`},
		{map[string]any{"healableTagKey": "bad key!", "healableTagValue": "x"}, "context healableTagKey: \"bad key!\" is not a valid tag key"},
		{map[string]any{"retainData": "maybe"}, `context retainData: "maybe" is not true or false`},
		{map[string]any{"retainData": 1.0}, "context retainData: want true or false"},
		{map[string]any{"functions": []any{"ingest", 3.0}}, "context functions[1]: want a string"},
		{map[string]any{"functions": map[string]any{}}, "context functions: want a list of names"},
		{map[string]any{"functions": "Ingest"}, `context functions: "Ingest" is not a function directory name`},
		{map[string]any{"opsEmail": "nobody"}, `context opsEmail: "nobody" is not an email address`},
		{map[string]any{"ssmDocuments": "a b"}, `context ssmDocuments: "a b" is not an SSM document name`},
		{map[string]any{"kvPrefix": "medic/kv"}, `context kvPrefix: "medic/kv" is not a Parameter Store path`},
		{map[string]any{"kvPrefix": "/medic/kv/"}, `context kvPrefix: "/medic/kv/" is not a Parameter Store path like /medic/kv (no trailing slash)`},
		{map[string]any{"kvPrefix": ""}, `context kvPrefix: "" is not a Parameter Store path`},
		{map[string]any{"kvPrefix": "/medic kv"}, `context kvPrefix: "/medic kv" is not a Parameter Store path`},
		{map[string]any{"kvPrefix": "/SSM/kv"}, `context kvPrefix: "/SSM/kv": Parameter Store reserves paths beginning with aws or ssm`},
		{map[string]any{"kvPrefix": 1.0}, "context kvPrefix: want a string"},
	}
	for _, c := range cases {
		if _, scoped := c.ctx["healableTagKey"]; !scoped {
			c.ctx["healableTagKey"], c.ctx["healableTagValue"] = "k", "v"
		}
		if _, ok := c.ctx["alarmNamePrefixes"]; !ok {
			c.ctx["alarmNamePrefixes"] = "heal-"
		}
		_, err := ConfigFromContext(contextOf(c.ctx))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.ctx, err, c.want)
		}
	}
}

// FuzzConfigFromContext feeds command-line style values (strings) to every
// key: the result is a valid config or an error naming a key, never a panic.
func FuzzConfigFromContext(f *testing.F) {
	f.Add("#medic", "medic:healable", "true", "30", "5", "ingest,notify", "a@b.c", "true", "AWS-RunShellScript", "/medic/kv")
	f.Add("", "", "", "", "", "", "", "", "", "")
	f.Add("x", "k", "", "-1", "99999999999999999999", ",,,", "@", "TRUE", ",", "/aws/x/")
	f.Fuzz(func(t *testing.T, channel, key, value, retention, poll, fns, email, retain, docs, kvPrefix string) {
		ctx := map[string]any{"slackChannel": channel, "healableTagKey": key, "healableTagValue": value,
			"logRetentionDays": retention, "pollSeconds": poll, "functions": fns, "opsEmail": email,
			"retainData": retain, "ssmDocuments": docs, "kvPrefix": kvPrefix}
		for k, v := range ctx {
			if v == "" {
				delete(ctx, k)
			}
		}
		c, err := ConfigFromContext(contextOf(ctx))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "context ") {
				t.Fatalf("error does not name a context key: %v", err)
			}
			return
		}
		if retentionDays[c.LogRetentionDays] == "" || c.PollSeconds < 1 || c.SlackChannel == "" || len(c.SSMDocuments) == 0 ||
			!kvPrefixPattern.MatchString(c.KVPrefix) || reservedKVPrefix.MatchString(c.KVPrefix) {
			t.Fatalf("accepted an invalid config %+v", c)
		}
	})
}
