package dispatch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// labelled is an alarm whose dimensions are exactly dims.
func (f *fixture) labelled(name, st string, dims map[string]any) trigger.Trigger {
	t := f.alarm(name, "", st)
	t.Payload["dimensions"] = dims
	return t
}

// admitFree admits t and frees its target at once, so the next admission
// on the same target is judged on inhibition alone.
func (f *fixture) admitFree(t trigger.Trigger, cfg Config) Decision {
	f.t.Helper()
	d := f.admit(t, cfg)
	if d.Lease != nil {
		if err := f.c.Release(ctx, *d.Lease, true); err != nil {
			f.t.Fatal(err)
		}
	}
	return d
}

func compileInhibit(t *testing.T, specs ...inhibit.Spec) []inhibit.Rule {
	t.Helper()
	rules, err := inhibit.Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// Alertmanager's rule for alerts matching both sides, through the index: a
// source that also matches the target side does not inhibit a target that
// matches both sides (nor does that target inhibit itself), while a
// source-only alert does, and a both-sided source inhibits a pure target.
func TestInhibitionBothSidesThroughIndex(t *testing.T) {
	f := newFixture(t)
	f.c.Inhibit = compileInhibit(t, inhibit.Spec{Name: "both", SourceMatchers: []string{`kind=~"src|both"`},
		TargetMatchers: []string{`kind=~"tgt|both"`}, Equal: []string{"host"}})
	cfg := Config{Rule: "r", GroupWait: NoWait}
	both1 := f.labelled("b1", "ALARM", map[string]any{"kind": "both", "host": "h1"})
	want(t, f.admitFree(both1, cfg), true, "act") // alone: not inhibited by itself
	both2 := f.labelled("b2", "ALARM", map[string]any{"kind": "both", "host": "h1"})
	want(t, f.admitFree(both2, cfg), true, "act") // both1 matches both sides: it cannot
	want(t, f.admitFree(f.labelled("t1", "ALARM", map[string]any{"kind": "tgt", "host": "h1"}), cfg), false, "inhibited by ")
	f.observe(f.labelled("s1", "ALARM", map[string]any{"kind": "src", "host": "h1"}))
	d := f.admitFree(f.labelled("b3", "ALARM", map[string]any{"kind": "both", "host": "h1"}), cfg)
	want(t, d, false, "inhibited by ")
	if !strings.Contains(d.Reason, "(s1, rule both)") {
		t.Fatalf("reason %q does not name the source-only alert s1", d.Reason)
	}
	// Another host shares no equal values: nothing inhibits it.
	want(t, f.admitFree(f.labelled("t2", "ALARM", map[string]any{"kind": "tgt", "host": "h2"}), cfg), true, "act")
}

// Sources that fired before the index existed (or before the rule was
// added) still inhibit: the first admission the rule applies to builds the
// index from the alert records.
func TestInhibitionIndexBuiltFromEarlierSources(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "r", GroupWait: NoWait}
	f.observe(f.alarm("instance-down", "i-1", "ALARM")) // no inhibit rules yet: not indexed
	f.c.Inhibit = compileInhibit(t, inhibit.Spec{SourceMatchers: []string{"alertname=instance-down"},
		TargetMatchers: []string{"alertname=~svc-.*"}, Equal: []string{"InstanceId"}})
	want(t, f.admitFree(f.alarm("svc-nginx", "i-1", "ALARM"), cfg), false, "inhibited by ")
	// A second consolidator on the same state (another process) reads the
	// built marker and the index, and lists no alerts.
	listed := &countingStore{Store: f.c.State}
	other := &Consolidator{State: listed, Now: f.clock.Now, Inhibit: f.c.Inhibit}
	obs, err := other.Observe(ctx, f.alarm("svc-redis", "i-1", "ALARM"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := other.Admit(ctx, obs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want(t, d, false, "inhibited by ")
	if n := listed.itemsRead.Load(); n > 6 {
		t.Fatalf("admission read %d items: the index was rebuilt or the alerts listed", n)
	}
}

// An index item whose alert no longer fires (a resolution that raced a
// firing delivery) mutes nothing and is removed when found.
func TestStaleInhibitionIndexEntryIsIgnored(t *testing.T) {
	f := newFixture(t)
	rules := compileInhibit(t, inhibit.Spec{SourceMatchers: []string{"alertname=instance-down"},
		TargetMatchers: []string{"alertname=~svc-.*"}, Equal: []string{"InstanceId"}})
	f.c.Inhibit = rules
	cfg := Config{Rule: "r", GroupWait: NoWait}
	down := f.observe(f.alarm("instance-down", "i-1", "ALARM")).Alert
	// Rewrite its record as resolved, behind the index's back.
	it, ok, err := f.c.State.Get(ctx, alertKey(down.Fingerprint))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	var rec Record
	if err := json.Unmarshal(it.Value, &rec); err != nil {
		t.Fatal(err)
	}
	rec.Status = alert.Resolved
	it.Value, _ = json.Marshal(rec)
	if _, err := f.c.State.Put(ctx, it, state.Always()); err != nil {
		t.Fatal(err)
	}
	want(t, f.admitFree(f.alarm("svc-nginx", "i-1", "ALARM"), cfg), true, "act on i-1")
	k := inhibitSourceKey(rules[0], inhibit.SourceOnly, rec)
	if _, ok, _ := f.c.State.Get(ctx, k); ok {
		t.Fatal("stale index item kept")
	}
}

// Equal values are attacker-written: they are hashed with their lengths,
// so shifting characters between labels does not pair alerts, and huge or
// odd values make bounded keys that still work.
func TestInhibitionIndexHostileEqualValues(t *testing.T) {
	f := newFixture(t)
	f.c.Inhibit = compileInhibit(t, inhibit.Spec{SourceMatchers: []string{"alertname=down"},
		TargetMatchers: []string{"alertname=svc"}, Equal: []string{"x", "y"}})
	cfg := Config{Rule: "r", GroupWait: NoWait}
	huge := strings.Repeat("#/%\u2028", 300)
	f.observe(f.labelled("down", "ALARM", map[string]any{"x": "a", "y": "bc"}))
	f.observe(f.labelled("down", "ALARM", map[string]any{"x": huge, "y": "#"}))
	want(t, f.admitFree(f.labelled("svc", "ALARM", map[string]any{"x": "ab", "y": "c"}), cfg), true, "act")
	want(t, f.admitFree(f.labelled("svc", "ALARM", map[string]any{"x": "a", "y": "bc"}), cfg), false, "inhibited by ")
	want(t, f.admitFree(f.labelled("svc", "ALARM", map[string]any{"x": huge, "y": "#"}), cfg), false, "inhibited by ")
	want(t, f.admitFree(f.labelled("svc", "ALARM", map[string]any{"x": huge}), cfg), true, "act")
}

// Muting a new alert reads a bounded number of items, however many alerts
// are known (it listed them all before the index). The shipped aws_ec2
// rule targets nearly every alert, so this is every admission's cost.
func TestMutingReadsDoNotGrowWithKnownAlerts(t *testing.T) {
	f := newFixture(t)
	counted := &countingStore{Store: f.c.State}
	f.c.State = counted
	f.c.Inhibit = shippedInhibitRules(t)
	seedKnownAlerts(t, counted, 500, f.clock.Now())
	cfg := Config{Rule: "r"}
	f.admit(ec2Alarm("warm", "new-0", "mem", "ALARM", f.clock.Now()), cfg) // builds the index once
	for i, inst := range []string{"i-0000000", "new-1"} {
		counted.itemsRead.Store(0)
		d := f.admit(ec2Alarm(inst, inst, "mem", "ALARM", f.clock.Now()), cfg)
		if inhibited := strings.HasPrefix(d.Reason, "inhibited by "); inhibited != (i == 0) {
			t.Fatalf("%s: %q", inst, d.Reason)
		}
		if n := counted.itemsRead.Load(); n > 10 {
			t.Fatalf("%s: one admission read %d items among 500 known alerts", inst, n)
		}
	}
}
