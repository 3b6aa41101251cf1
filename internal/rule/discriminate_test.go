package rule

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/trigger"
)

// With a constant equality per rule, a trigger is evaluated against the
// rules listed under its value only: one of 10,000 here (all 10,000
// before).
func TestEqualityIndexEvaluatesOnlyCandidates(t *testing.T) {
	ix := NewIndex(benchRules(10_000))
	evs := ix.Evaluate(benchTrigger(), nil)
	if len(evs) != 1 || !evs[0].Fires() || evs[0].Rule.Ref != "bench.r0" {
		t.Fatalf("%d evaluations (first %+v), want the one rule on metric_0", len(evs), evs[0].Rule.Ref)
	}
	// The same by prefix: each rule names its metric by an anchored regex.
	tr := benchTrigger()
	if evs := NewIndex(realisticRules(10_000, byAnchored)).Evaluate(tr, nil); len(evs) != 1 || evs[0].Rule.Ref != "bench.r0" {
		t.Fatalf("anchored regexes: %d evaluations, want the one rule on ^metric_0$", len(evs))
	}
}

// The index never changes which rules fire: over random triggers, hostile
// values included, the rules Evaluate fires are exactly those that fire
// when every rule is evaluated on its own.
func TestEqualityIndexFiresTheSameRules(t *testing.T) {
	alarm := trigger.TypeCloudWatchAlarm
	mk := func(ref string, cs ...Criterion) *Rule {
		return &Rule{Ref: ref, Enabled: true, TriggerType: alarm, Criteria: cs, Action: ActionRef{Ref: "p.a"}}
	}
	eq := func(key string, p any) Criterion { return Criterion{Key: key, Operator: "equals", Pattern: p} }
	rules := []*Rule{
		mk("p.state", eq("trigger.state", "ALARM")),
		mk("p.metric", eq("trigger.state", "ALARM"), eq("trigger.metric_name", "cpu")),
		mk("p.metric2", eq("trigger.metric_name", "disk")),
		mk("p.number", eq("trigger.metric_name", 5)),                      // not a string pattern: not indexed
		mk("p.numstr", eq("trigger.metric_name", "5")),                    // "5" equals only the string "5"
		mk("p.tmpl", eq("trigger.metric_name", "{{ trigger.expected }}")), // templated: not indexed
		mk("p.nested", eq("trigger.labels.alertname", "InstanceDown")),
		mk("p.regex", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: "^c"}),
		mk("p.iequals", Criterion{Key: "trigger.metric_name", Operator: "iequals", Pattern: "CPU"}),
		mk("p.any", Criterion{Key: "any", Group: "any", Members: []Criteria{{eq("trigger.metric_name", "cpu")}, {eq("trigger.metric_name", "disk")}}}),
		mk("p.broken", Criterion{Key: "trigger.metric_name", Operator: "no-such-operator", Pattern: "cpu"}),
		mk("p.tagged", eq("trigger.metric_name#2", "cpu")),
		mk("p.starts", Criterion{Key: "trigger.metric_name", Operator: "startswith", Pattern: "cp"}),
		mk("p.startsEmpty", Criterion{Key: "trigger.metric_name", Operator: "startswith", Pattern: ""}),
		mk("p.anchored", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: "^cpu$"}),
		mk("p.anchoredA", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: `\Acp`}),
		mk("p.unanchored", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: "pu"}),
		mk("p.multiline", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: "(?m)^cpu"}),
		mk("p.alternate", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: "^disk|cpu"}),
		mk("p.fold", Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: "^(?i)CPU"}),
		mk("p.iregex", Criterion{Key: "trigger.metric_name", Operator: "iregex", Pattern: "^CP"}),
		mk("p.matchregex", Criterion{Key: "trigger.metric_name", Operator: "matchregex", Pattern: "cpu"}),
		mk("p.both", eq("trigger.state", "ALARM"), Criterion{Key: "trigger.metric_name", Operator: "startswith", Pattern: "di"}),
		{Ref: "p.off", Enabled: false, TriggerType: alarm, Criteria: Criteria{eq("trigger.metric_name", "cpu")}, Action: ActionRef{Ref: "p.a"}},
	}
	ix := NewIndex(rules)
	values := []any{"cpu", "disk", "CPU", "5", 5, 5.0, true, nil, "", "cpu\x00", []any{"cpu"}, map[string]any{"cpu": 1},
		"cp", "cpu2", "xcpu", "c", "x\ncpu", "Cpu", "di", "dis\u00e9"}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func() any { return values[rnd.IntN(len(values))] }
	for i := 0; i < 2000; i++ {
		payload := map[string]any{"state": pick(), "metric_name": pick(), "expected": pick(),
			"labels": map[string]any{"alertname": []any{"InstanceDown", "Other", 1}[rnd.IntN(3)]}}
		if rnd.IntN(5) == 0 {
			delete(payload, "metric_name")
		}
		tr := trigger.Trigger{ID: fmt.Sprint(i), Type: alarm, Payload: payload}
		var got, want []string
		var errsGot, errsWant []string
		for _, ev := range ix.Evaluate(tr, nil) {
			if ev.Fires() {
				got = append(got, ev.Rule.Ref)
			}
			if ev.Err != nil {
				errsGot = append(errsGot, ev.Rule.Ref)
			}
		}
		for _, r := range rules {
			if !r.Enabled {
				continue
			}
			ev := ix.EvaluateRule(r, tr, nil)
			if ev.Fires() {
				want = append(want, r.Ref)
			}
			if ev.Err != nil && !ev.Matched {
				errsWant = append(errsWant, r.Ref)
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("payload %v: index fired %v, every rule alone %v", payload, got, want)
		}
		// A rule that cannot compile is always evaluated, so its problem
		// is reported on every trigger.
		if len(errsGot) == 0 || !listed(errsGot, "p.broken") {
			t.Fatalf("payload %v: p.broken's problem not reported (%v; alone %v)", payload, errsGot, errsWant)
		}
	}
}

func listed(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Evaluate stops a rule at its first failing criterion (the rest, a Jinja
// render among them, are not paid for), yet Explain still covers every
// criterion, as the rule tester's does.
func TestEvaluateStopsEarlyButExplainsAll(t *testing.T) {
	r := &Rule{Ref: "p.r", Enabled: true, TriggerType: trigger.TypeCloudWatchAlarm, Action: ActionRef{Ref: "p.a"},
		Criteria: Criteria{
			{Key: "trigger.state", Operator: "iequals", Pattern: "ok"}, // not indexed: the rule is evaluated
			{Key: "trigger.metric_name", Operator: "regex", Pattern: "cpu"},
			{Key: "trigger.region", Operator: "equals", Pattern: "{{ trigger.expected }}"},
		}}
	ix := NewIndex([]*Rule{r})
	tr := trigger.Trigger{Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"state": "ALARM", "metric_name": "cpu", "region": "x", "expected": "x"}}
	evs := ix.Evaluate(tr, nil)
	if len(evs) != 1 || evs[0].Matched || len(evs[0].Criteria) != 1 {
		t.Fatalf("want one unmatched evaluation stopped after 1 criterion: %+v", evs)
	}
	explained := evs[0].Explain()
	for _, want := range []string{"trigger.state", "trigger.metric_name", "trigger.region"} {
		if !strings.Contains(explained, want) {
			t.Fatalf("explanation lacks %s:\n%s", want, explained)
		}
	}
	if explained != ix.EvaluateRule(r, tr, nil).Explain() {
		t.Fatalf("Explain differs from the rule tester's:\n%s", explained)
	}
}
