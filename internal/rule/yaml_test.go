package rule

import (
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/trigger"
)

// The example of docs/rules.md, parsed from YAML and evaluated.
const groupsDoc = `
trigger.state: {type: equals, pattern: ALARM}
any:
  - trigger.metric_name: {type: equals, pattern: disk_used_percent}
  - trigger.metric_name: {type: equals, pattern: inode_used_percent}
    trigger.dimensions.path: {type: startswith, pattern: /var}
  - all:
      - trigger.alarm_name: {type: startswith, pattern: "disk-"}
      - trigger.tags: {type: contains, pattern: remediable}
`

func parseCriteriaYAML(t *testing.T, src string) Criteria {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	cs, ps := ParseCriteria(n.Content[0], "doc.yaml", "criteria")
	if len(ps) > 0 {
		t.Fatal(Problems(ps))
	}
	return cs
}

func TestGroupsFromYAML(t *testing.T) {
	r := &Rule{Ref: "d.r", Enabled: true, TriggerType: "x", Action: ActionRef{Ref: "a.b"}, Criteria: parseCriteriaYAML(t, groupsDoc)}
	cases := []struct {
		payload map[string]any
		want    bool
	}{
		{map[string]any{"state": "ALARM", "metric_name": "disk_used_percent"}, true},
		{map[string]any{"state": "ALARM", "metric_name": "inode_used_percent", "dimensions": map[string]any{"path": "/var/lib"}}, true},
		{map[string]any{"state": "ALARM", "metric_name": "inode_used_percent", "dimensions": map[string]any{"path": "/home"}}, false},
		{map[string]any{"state": "ALARM", "alarm_name": "disk-a", "tags": []any{"remediable"}}, true},
		{map[string]any{"state": "ALARM", "alarm_name": "disk-a", "tags": []any{}}, false},
		{map[string]any{"state": "OK", "metric_name": "disk_used_percent"}, false},
	}
	for _, c := range cases {
		ev := NewIndex(nil).EvaluateRule(r, trigger.Trigger{Type: "x", Payload: c.payload}, nil)
		if ev.Matched != c.want {
			t.Errorf("%v: matched %v, want %v\n%s", c.payload, ev.Matched, c.want, ev.Explain())
		}
	}
}

func TestSearchFromYAMLAndTaggedKeys(t *testing.T) {
	cs := parseCriteriaYAML(t, `
trigger.alerts:
  type: search
  condition: any
  pattern:
    item.labels.severity: {type: equals, pattern: critical}
    item.status: {type: equals, pattern: firing}
trigger.tags#1: {type: contains, pattern: prod}
trigger.tags#2: {type: ncontains, pattern: canary}
`)
	r := &Rule{Ref: "d.r", Enabled: true, TriggerType: "x", Action: ActionRef{Ref: "a.b"}, Criteria: cs}
	payload := map[string]any{"tags": []any{"prod"}, "alerts": []any{
		map[string]any{"status": "resolved", "labels": map[string]any{"severity": "critical"}},
		map[string]any{"status": "firing", "labels": map[string]any{"severity": "critical"}},
	}}
	ev := NewIndex(nil).EvaluateRule(r, trigger.Trigger{Type: "x", Payload: payload}, nil)
	if !ev.Fires() {
		t.Fatalf("want a match:\n%s", ev.Explain())
	}
	payload["tags"] = []any{"prod", "canary"}
	if ev := NewIndex(nil).EvaluateRule(r, trigger.Trigger{Type: "x", Payload: payload}, nil); ev.Matched {
		t.Errorf("tagged second criterion ignored:\n%s", ev.Explain())
	}
}

// The engine evaluates triggers concurrently against one index.
func TestEvaluateConcurrently(t *testing.T) {
	ix := NewIndex(benchRules(20))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				evs := ix.Evaluate(benchTrigger(), nil)
				if !evs[0].Fires() || evs[0].Params["target"] != "i-0123456789" {
					t.Error("wrong evaluation under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestExplainShowsEveryCriterion(t *testing.T) {
	r := &Rule{Ref: "d.r", Enabled: false, TriggerType: "x", Action: ActionRef{Ref: "a.b"}, Criteria: parseCriteriaYAML(t, groupsDoc)}
	ev := NewIndex(nil).EvaluateRule(r, trigger.Trigger{Type: "x", Payload: map[string]any{"state": "OK"}}, nil)
	out := ev.Explain()
	for _, want := range []string{
		"rule d.r: did not match (rule is disabled: it never fires)",
		`FAIL trigger.state equals "ALARM": found "OK"`,
		"FAIL any: (any of 3)",
		`FAIL trigger.metric_name equals "disk_used_percent": not found`,
		`FAIL trigger.tags contains "remediable": not found (no value to compare)`,
	} {
		if !contains2(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
}

func TestTimerAndWebhookTriggersReachOnlyTheirRules(t *testing.T) {
	mk := func(ref, typ string, params map[string]any) *Rule {
		return &Rule{Ref: ref, Enabled: true, TriggerType: typ, TriggerParameters: params, Action: ActionRef{Ref: "a.b"}}
	}
	rules := []*Rule{
		mk("p.hourly", trigger.TypeIntervalTimer, map[string]any{"unit": "hours", "delta": 1}),
		mk("p.daily", trigger.TypeIntervalTimer, map[string]any{"unit": "days", "delta": 1}),
		mk("p.deploy", trigger.TypeWebhook, map[string]any{"url": "deploy"}),
		mk("p.any_hook", trigger.TypeWebhook, nil),
	}
	ix := NewIndex(rules)
	fired := func(tr trigger.Trigger) []string {
		var refs []string
		for _, ev := range ix.Evaluate(tr, nil) {
			if ev.Fires() {
				refs = append(refs, ev.Rule.Ref)
			}
		}
		return refs
	}
	if got := fired(trigger.Trigger{Type: trigger.TypeIntervalTimer, Payload: map[string]any{"rule": "p.daily"}}); len(got) != 1 || got[0] != "p.daily" {
		t.Errorf("timer tick fired %v, want [p.daily]", got)
	}
	if got := fired(trigger.Trigger{Type: trigger.TypeWebhook, Payload: map[string]any{"url": "/deploy/"}}); len(got) != 2 {
		t.Errorf("deploy webhook fired %v, want p.deploy and p.any_hook", got)
	}
	if got := fired(trigger.Trigger{Type: trigger.TypeWebhook, Payload: map[string]any{"url": "alerts"}}); len(got) != 1 || got[0] != "p.any_hook" {
		t.Errorf("alerts webhook fired %v, want [p.any_hook]", got)
	}
	ev := ix.EvaluateRule(rules[0], trigger.Trigger{Type: trigger.TypeIntervalTimer, Payload: map[string]any{"rule": "p.daily"}}, nil)
	if ev.Matched || ev.Err == nil || !contains2(ev.Err.Error(), `belongs to rule "p.daily"`) {
		t.Errorf("rule tester view: %+v", ev)
	}
}
