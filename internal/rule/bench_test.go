package rule

import (
	"fmt"
	"testing"

	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/trigger"
)

// benchRules makes n rules for one trigger type, shaped like real ones:
// three criteria (one with a per-rule pattern, so one rule matches) and
// two templated parameters.
func benchRules(n int) []*Rule {
	rules := make([]*Rule, n)
	for i := range rules {
		rules[i] = &Rule{
			Ref: fmt.Sprintf("bench.r%d", i), Enabled: true, TriggerType: trigger.TypeCloudWatchAlarm,
			Criteria: Criteria{
				{Key: "trigger.state", Operator: "equals", Pattern: "ALARM"},
				{Key: "trigger.metric_name", Operator: "equals", Pattern: fmt.Sprintf("metric_%d", i)},
				{Key: "trigger.dimensions.path", Operator: "exists"},
			},
			Action: ActionRef{Ref: "bench.act", Parameters: map[string]any{
				"target": "{{ trigger.instance_id }}",
				"path":   "{{ trigger.dimensions.path }}",
			}},
		}
	}
	return rules
}

func benchTrigger() trigger.Trigger {
	return trigger.Trigger{ID: "t", Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{
		"state": "ALARM", "metric_name": "metric_0", "instance_id": "i-0123456789",
		"dimensions": map[string]any{"path": "/var/log", "host": "web-01"},
	}}
}

// BenchmarkEvaluate: one trigger against 1, 100 and 10,000 rules. Each
// rule's metric_name equality lets the index evaluate only the one rule
// that matches.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			ix := NewIndex(benchRules(n))
			t := benchTrigger()
			store := kv.Map{}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				evs := ix.Evaluate(t, store)
				if len(evs) == 0 || !evs[0].Fires() {
					b.Fatalf("%d evaluations, first fires=%v", len(evs), evs[0].Fires())
				}
			}
		})
	}
}

// BenchmarkThroughput reports sustained triggers per second against 100
// rules; run with -cpu 1 for the one-core figure.
func BenchmarkThroughput(b *testing.B) {
	ix := NewIndex(benchRules(100))
	t := benchTrigger()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ix.Evaluate(t, nil)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "triggers/s")
}

// How realisticRules name each rule's metric.
const (
	byEquals   = "equals"   // trigger.metric_name equals metric_i
	byAnchored = "anchored" // regex ^metric_i$: indexed by its literal prefix
	byNothing  = "none"     // regex _i$ (unanchored): nothing to index
)

// realisticRules are n rules with the criteria real packs use: an
// equality on the state, the metric name (named as metric says), a regex,
// an iregex, a startswith, a number comparison and a Jinja pattern. Rule 0
// matches benchTrigger.
func realisticRules(n int, metric string) []*Rule {
	rules := make([]*Rule, n)
	for i := range rules {
		cs := Criteria{{Key: "trigger.state", Operator: "equals", Pattern: "ALARM"}}
		switch metric {
		case byEquals:
			cs = append(cs, Criterion{Key: "trigger.metric_name", Operator: "equals", Pattern: fmt.Sprintf("metric_%d", i)})
		case byAnchored:
			cs = append(cs, Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: fmt.Sprintf("^metric_%d$", i)})
		default:
			cs = append(cs, Criterion{Key: "trigger.metric_name", Operator: "regex", Pattern: fmt.Sprintf("_%d$", i)})
		}
		cs = append(cs,
			Criterion{Key: "trigger.dimensions.path", Operator: "regex", Pattern: "^/(var|tmp)/"},
			Criterion{Key: "trigger.dimensions.host", Operator: "iregex", Pattern: "^WEB-"},
			Criterion{Key: "trigger.instance_id", Operator: "startswith", Pattern: "i-"},
			Criterion{Key: "trigger.threshold", Operator: "gt", Pattern: 80},
			Criterion{Key: "trigger.region", Operator: "equals", Pattern: "{{ trigger.expected_region }}"},
		)
		rules[i] = &Rule{Ref: fmt.Sprintf("bench.r%d", i), Enabled: true, TriggerType: trigger.TypeCloudWatchAlarm,
			Criteria: cs, Action: ActionRef{Ref: "bench.act", Parameters: map[string]any{"target": "{{ trigger.instance_id }}"}}}
	}
	return rules
}

// BenchmarkEvaluateRealistic: one trigger against 100, 1,000 and 10,000
// rules with realistic criteria, the metric named by an equality, by an
// anchored regex (both indexed) or by an unanchored regex (not indexed).
func BenchmarkEvaluateRealistic(b *testing.B) {
	for _, metric := range []string{byEquals, byAnchored, byNothing} {
		for _, n := range []int{100, 1000, 10_000} {
			b.Run(fmt.Sprintf("metric=%s/rules=%d", metric, n), func(b *testing.B) {
				ix := NewIndex(realisticRules(n, metric))
				t := benchTrigger()
				t.Payload["threshold"] = 90
				t.Payload["region"], t.Payload["expected_region"] = "eu-west-1", "eu-west-1"
				t.Payload["dimensions"] = map[string]any{"path": "/var/log", "host": "web-01"}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					evs := ix.Evaluate(t, nil)
					if len(evs) == 0 || !evs[0].Fires() {
						b.Fatalf("%d evaluations; the first does not fire: %+v", len(evs), evs)
					}
				}
			})
		}
	}
}
