package pack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

func loadGood(t *testing.T) *Set {
	t.Helper()
	s, err := LoadDir("testdata/good")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return s
}

func TestLoadDirGoodPack(t *testing.T) {
	s := loadGood(t)
	if len(s.Packs) != 1 || s.Packs[0].Ref != "ops" || s.Packs[0].Version != "0.1.0" {
		t.Fatalf("packs = %+v", s.Packs)
	}
	if got := len(s.Rules()); got != 4 {
		t.Errorf("rules = %d, want 4", got)
	}
	a, ok := s.Action("ops.restart")
	if !ok {
		t.Fatal("ops.restart not found")
	}
	if a.RunnerType != "remediation" || !a.Parameters["target"].Required || !a.Parameters["token"].Secret ||
		!a.Parameters["remediate"].Immutable || a.Parameters["attempts"].Default != 2 {
		t.Errorf("action parsed wrong: %+v", a)
	}
	if _, ok := s.Action("ops.nope"); ok {
		t.Error("unknown action found")
	}
	var backstop *rule.Rule
	for _, r := range s.Rules() {
		if r.Name == "catch_all" {
			backstop = r
		}
	}
	if backstop == nil || !backstop.IsBackstop() {
		t.Errorf("catch_all should be a backstop rule: %+v", backstop)
	}
	if len(s.Policies()) != 2 || len(s.Aliases()) != 1 {
		t.Errorf("policies %d aliases %d", len(s.Policies()), len(s.Aliases()))
	}
}

func TestLoadDirReportsEveryProblemWithFileLineField(t *testing.T) {
	_, err := LoadDir("testdata/bad")
	var ps rule.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want rule.Problems, got %v", err)
	}
	want := []string{
		"actions/act.yaml:5: parameters.target.type: unknown type \"strin\"",
		"actions/act.yaml:8: parameters.count.default: want an integer, got \"many\"",
		"actions/act.yaml:19: parameters.mode.default: \"c\" is not one of [\"a\",\"b\"]",
		"aliases/a.yaml:3: formats: \"do {{thing}}\" never sets broken.act's required parameter needed",
		"policies/p2.yaml:4: parameters.attributes: \"host\" is not a parameter of broken.act",
		"aliases/a.yaml:3: formats: parameter {{thing}} is not a parameter of broken.act",
		"policies/p.yaml:3: policy_type: unknown policy type \"action.throttle\"",
		"rules/bad_rule.yaml:4: trigger.type: unknown trigger type \"aws.cloudwatch.nope\"",
		"rules/bad_rule.yaml:6: criteria.trigger.state.type: unknown operator \"equalz\"",
		"rules/bad_rule.yaml:9: criteria.trigger.name.pattern: invalid regex",
		"rules/bad_rule.yaml:12: criteria.trigger.x.pattern: template",
		"rules/bad_rule.yaml:18: action.parameters.nope: not a parameter of broken.act",
		"rules/bad_rule.yaml:19: action.parameters.fixed: is immutable",
		"rules/bad_rule.yaml:20: action.parameters.count: template",
		"rules/no_enabled.yaml:1: enabled: is required",
		"rules/no_enabled.yaml:8: criteria.trigger.labels.severity: duplicate key; suffix it with #tag",
		"rules/no_enabled.yaml:11: criteria.trigger.alerts.condition: unknown search condition \"sometimes\"",
		"rules/no_enabled.yaml:11: criteria.trigger.alerts: \"alerts\" is not in the prometheus.alert payload (known: alertname, annotations,",
		"rules/no_enabled.yaml:19: criteria.any: an any group is a list of criteria mappings",
		"rules/syntax.yaml:1: YAML syntax:",
		"rules/timer.yaml:6: trigger.parameters.unit: is \"fortnights\", want one of weeks",
		"rules/typo.yaml:6: criteria.trigger.metric_nam: \"metric_nam\" is not in the aws.cloudwatch.alarm payload (did you mean \"metric_name\"?)",
		"rules/typo.yaml:9: criteria.trigger.state.pattern: the pattern reads trigger.previous_stat: \"previous_stat\" is not in the aws.cloudwatch.alarm payload (did you mean \"previous_state\"?)",
		"rules/typo.yaml:15: action.parameters.target: the template reads trigger.instanceid: \"instanceid\" is not in the aws.cloudwatch.alarm payload (did you mean \"instance_id\"?)",
		"rules/unknown_action.yaml:2: enabled: must be true or false, got \"yes please\"",
		"rules/unknown_action.yaml:3: trigger.parameters.url: is required",
		"rules/unknown_action.yaml:6: action.ref: unknown action \"broken.missing\"",
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing problem %q in:\n%s", w, text)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(ps), len(want), text)
	}
}

func TestLoadDirMissing(t *testing.T) {
	if _, err := LoadDir("testdata/does-not-exist"); err == nil {
		t.Fatal("want error for a missing directory")
	}
}

func TestRuleFiresWithRenderedAndCastParams(t *testing.T) {
	s := loadGood(t)
	ix := rule.NewIndex(s.Rules())
	tr := trigger.Trigger{ID: "1", Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{
		"state": "ALARM", "alarm_name": "svc-nginx", "instance_id": "i-123",
		"dimensions": map[string]any{"service": "nginx"},
	}}
	evs := ix.Evaluate(tr, kv.Map{"restart_attempts": "5"})
	if len(evs) != 1 || !evs[0].Fires() {
		t.Fatalf("want only restart_on_alarm to fire, got %d evaluations: %v", len(evs), explainAll(evs))
	}
	a, _ := s.Action(evs[0].Rule.Action.Ref)
	params, err := a.ResolveParams(evs[0].Params)
	if err != nil {
		t.Fatal(err)
	}
	if params["attempts"] != 5 || params["service"] != "nginx" || params["target"] != "i-123" || params["force"] != false {
		t.Errorf("params = %#v", params)
	}
	if params["remediate"] != `systemctl restart "$service"` {
		t.Errorf("immutable default not applied: %#v", params["remediate"])
	}
}

func TestBackstopFiresOnlyWhenNothingElseMatched(t *testing.T) {
	s := loadGood(t)
	ix := rule.NewIndex(s.Rules())
	tr := trigger.Trigger{Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"state": "OK", "instance_id": "i-9"}}
	evs := ix.Evaluate(tr, nil)
	var fired []string
	for _, ev := range evs {
		if ev.Fires() {
			fired = append(fired, ev.Rule.Name)
		}
		if ev.Rule.Name == "disabled" {
			t.Error("disabled rule was evaluated")
		}
	}
	if len(fired) != 1 || fired[0] != "catch_all" {
		t.Errorf("fired %v, want [catch_all]\n%s", fired, explainAll(evs))
	}
}

func explainAll(evs []rule.Evaluation) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Explain() + "\n")
	}
	return b.String()
}

func TestResolveParams(t *testing.T) {
	a, _ := loadGood(t).Action("ops.restart")
	cases := []struct {
		name    string
		given   map[string]any
		want    map[string]any
		wantErr string
	}{
		{"casts strings", map[string]any{"target": "t", "service": "app", "attempts": "7", "ratio": "0.5", "force": "true", "tags": `["a"]`, "extra": `{"k":1}`},
			map[string]any{"attempts": 7, "ratio": 0.5, "force": true}, ""},
		{"whole float to integer", map[string]any{"target": "t", "service": "app", "attempts": 3.0}, map[string]any{"attempts": 3}, ""},
		{"required", map[string]any{"service": "app"}, nil, `parameter "target" is required`},
		{"enum", map[string]any{"target": "t", "service": "db"}, nil, `"db" is not one of`},
		{"unknown", map[string]any{"target": "t", "service": "app", "colour": "red"}, nil, `parameter "colour" is not in the action's schema`},
		{"immutable", map[string]any{"target": "t", "service": "app", "remediate": "rm -rf /"}, nil, `"remediate" is immutable`},
		{"bad integer", map[string]any{"target": "t", "service": "app", "attempts": "lots"}, nil, `want an integer, got "lots"`},
		{"bad boolean", map[string]any{"target": "t", "service": "app", "force": "maybe"}, nil, `want a boolean`},
		{"null uses default", map[string]any{"target": "t", "service": "app", "attempts": nil}, map[string]any{"attempts": 2}, ""},
		{"empty render uses default", map[string]any{"target": "t", "service": "app", "attempts": ""}, map[string]any{"attempts": 2}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := a.ResolveParams(c.given)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}
}

func TestMaskSecrets(t *testing.T) {
	a, _ := loadGood(t).Action("ops.restart")
	in := map[string]any{"token": "s3cret", "target": "i-1"}
	out := a.MaskSecrets(in)
	if out["token"] != SecretMask || out["target"] != "i-1" || in["token"] != "s3cret" {
		t.Errorf("masked = %v, input = %v", out, in)
	}
}

func TestAliasMatch(t *testing.T) {
	al := loadGood(t).Aliases()[0]
	cases := []struct {
		cmd  string
		want map[string]any
	}{
		{"restart nginx on i-123", map[string]any{"service": "nginx", "target": "i-123", "force": true}},
		{"bounce app on web1", map[string]any{"service": "app", "target": "web1", "attempts": "3"}},
		{"bounce app on web1 5", map[string]any{"attempts": "5"}},
		{"restart nginx on i-1 token=abc", map[string]any{"target": "i-1", "token": "abc"}},
	}
	for _, c := range cases {
		got, ok := al.Match(c.cmd)
		if !ok {
			t.Errorf("%q did not match", c.cmd)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s = %#v, want %#v (all %v)", c.cmd, k, got[k], v, got)
			}
		}
	}
	if _, ok := al.Match("reboot everything"); ok {
		t.Error("unrelated command matched")
	}
}

func TestPolicies(t *testing.T) {
	for _, p := range loadGood(t).Policies() {
		switch p.PolicyType {
		case PolicyConcurrencyAttr:
			if p.Threshold != 1 || p.Action != "delay" || len(p.Attributes) != 1 || p.Attributes[0] != "target" {
				t.Errorf("concurrency policy = %+v", p)
			}
		case PolicyRetry:
			if p.RetryOn != "failure" || p.MaxRetryCount != 2 || p.DelaySeconds != 5 {
				t.Errorf("retry policy = %+v", p)
			}
		default:
			t.Errorf("unexpected policy %+v", p)
		}
	}
}

func TestExplainMasksSecretParams(t *testing.T) {
	s := loadGood(t)
	ix := rule.NewIndex(s.Rules())
	tr := trigger.Trigger{Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{
		"state": "ALARM", "alarm_name": "svc-a", "instance_id": "i-1", "dimensions": map[string]any{"service": "app"}}}
	for _, ev := range ix.Evaluate(tr, kv.Map{"api_token": "hunter2"}) {
		if !ev.Fires() {
			continue
		}
		if ev.Params["token"] != "hunter2" {
			t.Errorf("rendered token = %v", ev.Params["token"])
		}
		if out := ev.Explain(); strings.Contains(out, "hunter2") || !strings.Contains(out, "token = ********") {
			t.Errorf("secret leaked or not masked:\n%s", out)
		}
		return
	}
	t.Fatal("no rule fired")
}

func TestLoadFS(t *testing.T) {
	s, err := LoadFS(os.DirFS("testdata/good"), "embedded")
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := s.Action("ops.restart"); !ok || a.File != filepath.Join("embedded", "ops", "actions", "restart.yaml") {
		t.Errorf("action from FS: %+v", a)
	}
	mem := fstest.MapFS{
		"web/pack.yaml":       {Data: []byte("ref: web\n")},
		"web/rules/bad.yaml":  {Data: []byte("name: bad\nenabled: true\ntrigger: {type: core.st2.webhook, parameters: {url: x}}\naction: {ref: web.nope}\n")},
		"web/actions/README":  {Data: []byte("not yaml, ignored")},
		"notes.txt":           {Data: []byte("ignored")},
		".hidden/pack.yaml":   {Data: []byte("{")},
		"nometa/rules/r.yaml": {Data: []byte("name: r\n")},
	}
	_, err = LoadFS(mem, "mem")
	for _, want := range []string{
		"mem/web/rules/bad.yaml:4: action.ref: unknown action \"web.nope\"",
		"mem/nometa/pack.yaml: missing: every pack folder needs a pack.yaml",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
