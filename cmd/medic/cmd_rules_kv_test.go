package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := dispatch(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const (
	testRule   = "../../internal/pack/testdata/good/ops/rules/restart_on_alarm.yaml"
	testPacks  = "../../internal/pack/testdata/good"
	alarmEvent = "../../internal/pack/testdata/events/alarm.json"
	okEvent    = "../../internal/pack/testdata/events/ok.json"
)

func TestRuleTestMatch(t *testing.T) {
	state := t.TempDir()
	for k, v := range map[string]string{"restart_attempts": "4", "api_token": "hunter2"} {
		if code, _, errOut := run(t, "kv", "set", k, v, "--state", state); code != 0 {
			t.Fatalf("kv set: %d %s", code, errOut)
		}
	}
	code, out, errOut := run(t, "rule", "test", "--rule", testRule, "--event", alarmEvent, "--packs", testPacks, "--state", state)
	if code != 0 {
		t.Fatalf("exit %d, out:\n%s\nerr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"rule ops.restart_on_alarm: MATCHED",
		`ok   trigger.state equals "ALARM": found "ALARM"`,
		`FAIL trigger.description contains "restartable": found "prod web tier"`,
		"action ops.restart (runner remediation) would start with:",
		"attempts = 4",
		`service = "nginx"`,
		"token = ********",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret printed:\n%s", out)
	}
}

func TestRuleTestNoMatchAndErrors(t *testing.T) {
	code, out, _ := run(t, "rule", "test", "--rule", testRule, "--event", okEvent, "--state", t.TempDir())
	if code != 1 || !strings.Contains(out, `FAIL trigger.state equals "ALARM": found "OK"`) {
		t.Errorf("no match: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "rule", "test", "--rule", testRule, "--event", testRule); code != 2 || !strings.Contains(errOut, "not a trigger instance") {
		t.Errorf("bad event: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, "rule", "test", "--rule", "nope.yaml", "--event", okEvent); code != 2 {
		t.Errorf("missing rule file: exit %d", code)
	}
	if code, _, _ := run(t, "rule", "test"); code != 2 {
		t.Errorf("no flags: exit %d", code)
	}
}

func TestPackValidate(t *testing.T) {
	code, out, _ := run(t, "pack", "validate", testPacks)
	if code != 0 || !strings.Contains(out, "1 pack(s), 4 rule(s), 1 action(s), 1 alias(es), 2 policy(ies): OK") {
		t.Errorf("good: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "pack", "validate", "../../internal/pack/testdata/bad")
	if code != 1 || !strings.Contains(out, "rules/bad_rule.yaml:6: criteria.trigger.state.type: unknown operator") || !strings.Contains(out, "27 problem(s)") {
		t.Errorf("bad: exit %d\n%s", code, out)
	}
}

func TestPackValidateJSON(t *testing.T) {
	code, out, _ := run(t, "pack", "validate", "--json", "../../internal/pack/testdata/bad")
	var problems []problemJSON
	if code != 1 || json.Unmarshal([]byte(out), &problems) != nil || len(problems) != 27 {
		t.Fatalf("exit %d, %d problems:\n%s", code, len(problems), out)
	}
	if p := problems[0]; !strings.HasSuffix(p.File, "actions/act.yaml") || p.Line != 5 || p.Field != "parameters.target.type" {
		t.Errorf("first problem = %+v", p)
	}
	if code, out, _ := run(t, "pack", "validate", testPacks, "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("clean: exit %d %q", code, out)
	}
}

func TestKV(t *testing.T) {
	state := t.TempDir()
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"kv", "set", "app.url", "http://x", "--state", state}, 0, ""},
		{[]string{"kv", "set", "--state", state, "--ttl", "1h", "app.lease", "me"}, 0, ""},
		{[]string{"kv", "get", "app.url", "--state", state}, 0, "http://x\n"},
		{[]string{"kv", "list", "app.", "--state", state}, 0, "app.lease\tme\t(expires "},
		{[]string{"kv", "delete", "app.url", "--state", state}, 0, ""},
		{[]string{"kv", "get", "app.url", "--state", state}, 1, ""},
		{[]string{"kv", "delete", "app.url", "--state", state}, 1, ""},
		{[]string{"kv", "set", "only-key", "--state", state}, 2, ""},
		{[]string{"kv", "set", "k", "v", "--ttl", "soon", "--state", state}, 2, ""},
	}
	for _, s := range steps {
		code, out, errOut := run(t, s.args...)
		if code != s.code || !strings.Contains(out, s.out) {
			t.Errorf("%v: exit %d out %q err %q; want exit %d out containing %q", s.args, code, out, errOut, s.code, s.out)
		}
	}
}

func TestRuleTestRawSensorEvent(t *testing.T) {
	const diskRule = "../../internal/pack/testdata/rules/disk_alarm.yaml"
	code, out, errOut := run(t, "rule", "test", "--rule", diskRule,
		"--event", "../../events/local/disk-full-alarm.json", "--packs", testPacks, "--state", t.TempDir())
	if code != 0 || !strings.Contains(out, "MATCHED") || !strings.Contains(out, `target = "localhost"`) {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "rule", "test", "--rule", diskRule,
		"--event", "../../events/alertmanager/webhook-firing.json", "--state", t.TempDir())
	if code != 1 || !strings.Contains(out, "--- trigger 1 of") || !strings.Contains(out, "not prometheus.alert") {
		t.Errorf("other trigger type: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "rule", "test", "--rule", testRule, "--event", "../../events/invalid/unknown-shape.json"); code != 2 || !strings.Contains(errOut, "nor a raw sensor event") {
		t.Errorf("unknown shape: exit %d %s", code, errOut)
	}
}

func TestPackValidateWarnsOnParametersThatCanBecomeOptions(t *testing.T) {
	code, out, _ := run(t, "pack", "validate", "../../internal/pack/testdata/lint")
	if code != 0 || !strings.Contains(out, "warning: ../../internal/pack/testdata/lint/risky/actions/clean.yaml:22: risky.clean parameters.diagnose: \"$path\" is an argument of du") ||
		!strings.Contains(out, "2 action(s), 0 alias(es), 0 policy(ies): OK, 8 warning(s)") {
		t.Errorf("exit %d\n%s", code, out)
	}
	code, out, errOut := run(t, "pack", "validate", "--json", "../../internal/pack/testdata/lint")
	if code != 0 || strings.TrimSpace(out) != "[]" || strings.Count(errOut, "warning: ") != 8 {
		t.Errorf("json: exit %d %q\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "pack", "validate", "../../packs")
	if code != 0 || strings.Contains(out, "warning") {
		t.Errorf("shipped packs: exit %d\n%s", code, out)
	}
}

// A template that fails to render, or parameters the action refuses, is an
// error (exit 2, as docs/rules.md says), not a miss (1): on a single
// trigger and on one trigger of an Alertmanager group.
func TestRuleTestExitsTwoOnTemplateAndResolveErrors(t *testing.T) {
	dir := t.TempDir()
	ruleFile := func(name, triggerType, params string) string {
		path := filepath.Join(dir, name+".yaml")
		body := "---\nname: " + name + "\npack: ops\nenabled: true\ntrigger:\n  type: " + triggerType +
			"\naction:\n  ref: ops.restart\n  parameters:\n" + params
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cases := []struct {
		name, rule, event string
		packs             bool
		out               string
	}{
		{"template error", ruleFile("tpl", "aws.cloudwatch.alarm", "    target: \"{{ trigger.nope.deeper }}\"\n"),
			"../../events/local/disk-full-alarm.json", false, "Unable to evaluate trigger.nope.deeper"},
		{"resolve error", ruleFile("resolve", "aws.cloudwatch.alarm", "    target: x\n    service: not-in-the-enum\n"),
			"../../events/local/disk-full-alarm.json", true, "would NOT start"},
		{"template error on one alert of a group", ruleFile("group", "prometheus.alert",
			"    target: \"{{ trigger.labels.nope.deeper }}\"\n    service: app\n"),
			"../../events/alertmanager/webhook-firing.json", false, "--- trigger 2 of 2"},
	}
	for _, c := range cases {
		args := []string{"rule", "test", "--rule", c.rule, "--event", c.event, "--state", t.TempDir()}
		if c.packs {
			args = append(args, "--packs", testPacks)
		}
		code, out, errOut := run(t, args...)
		if code != 2 || !strings.Contains(out+errOut, c.out) {
			t.Errorf("%s: exit %d, want 2 with %q\n%s\n%s", c.name, code, c.out, out, errOut)
		}
	}
	for codes, want := range map[[3]int]int{{1, 0, 1}: 0, {1, 1, 1}: 1, {0, 2, 1}: 2, {2, 0, 0}: 2} {
		if got := combineRuleCodes(codes[:]); got != want {
			t.Errorf("combineRuleCodes(%v) = %d, want %d", codes, got, want)
		}
	}
}
