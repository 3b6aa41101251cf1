package dispatch

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/statetest"
	"github.com/medic-sre/medic/internal/trigger"
)

var ctx = context.Background()

type fixture struct {
	t     *testing.T
	c     *Consolidator
	clock *statetest.Clock
	seq   int
}

func newFixture(t *testing.T) *fixture {
	clock := statetest.NewClock()
	return &fixture{t: t, clock: clock, c: &Consolidator{State: state.NewMemory(clock.Now), Now: clock.Now}}
}

// alarm builds a CloudWatch trigger with a fresh delivery ID.
func (f *fixture) alarm(name, instance, st string) trigger.Trigger {
	f.seq++
	return trigger.Trigger{ID: fmt.Sprintf("evt-%d", f.seq), Type: trigger.TypeCloudWatchAlarm, Source: "eventbridge",
		Time: f.clock.Now(), Payload: map[string]any{"alarm_name": name, "state": st, "account": "111122223333",
			"region": "eu-west-1", "dimensions": map[string]any{"InstanceId": instance}}}
}

func (f *fixture) observe(t trigger.Trigger) *Observation {
	f.t.Helper()
	obs, err := f.c.Observe(ctx, t)
	if err != nil {
		f.t.Fatal(err)
	}
	return obs
}

func (f *fixture) admit(t trigger.Trigger, cfg Config) Decision {
	f.t.Helper()
	d, err := f.c.Admit(ctx, f.observe(t), cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) due() []Flush {
	f.t.Helper()
	fl, err := f.c.Due(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return fl
}

func want(t *testing.T, d Decision, act bool, reason string) {
	t.Helper()
	if d.Act != act || !strings.Contains(d.Reason, reason) {
		t.Fatalf("decision = act %v %q; want act %v containing %q", d.Act, d.Reason, act, reason)
	}
}

func TestDuplicateDeliveryNeverActsTwice(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "linux.free_disk", GroupWait: NoWait}
	tr := f.alarm("disk-full", "i-1", "ALARM")
	d := f.admit(tr, cfg)
	want(t, d, true, "act on i-1")
	if d.Lease == nil || d.ExecutionKey == "" || d.Fingerprint == "" {
		t.Fatalf("granted decision incomplete: %+v", d)
	}
	obs := f.observe(tr) // the same delivery again
	if !obs.Duplicate {
		t.Fatal("redelivery not recognised")
	}
	d2, _ := f.c.Admit(ctx, obs, cfg)
	want(t, d2, false, "duplicate delivery of "+tr.ID)
	// A new delivery of the still-firing alarm joins its group quietly.
	want(t, f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg), false, "already firing")
	recs, _ := f.c.Alerts(ctx)
	if len(recs) != 1 || recs[0].Count != 2 || recs[0].Status != alert.Firing {
		t.Fatalf("alerts = %+v; want one firing alert counted twice", recs)
	}
}

func TestGroupTimersFollowAlertmanager(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "r", GroupBy: []string{"alertname"}} // defaults: 30s, 5m, 4h
	want(t, f.admit(f.alarm("svc-down", "i-1", "ALARM"), cfg), false, "(waiting until")
	f.clock.Advance(10 * time.Second)
	want(t, f.admit(f.alarm("svc-down", "i-2", "ALARM"), cfg), false, "grouped into r{alertname=\"svc-down\"}")
	if fl := f.due(); len(fl) != 0 {
		t.Fatalf("flushed before group_wait: %+v", fl)
	}
	f.clock.Advance(20 * time.Second)
	fl := f.due()
	if len(fl) != 1 || !fl[0].Act || len(fl[0].Alerts) != 2 || fl[0].Rule != "r" {
		t.Fatalf("first flush = %+v", fl)
	}
	first := fl[0]
	f.c.Release(ctx, *first.Lease, true)
	if fl := f.due(); len(fl) != 0 {
		t.Fatal("flushed twice")
	}
	// A new alert joins an acted group: it waits for group_interval.
	f.clock.Advance(time.Minute)
	want(t, f.admit(f.alarm("svc-down", "i-3", "ALARM"), cfg), false, "grouped into")
	if fl := f.due(); len(fl) != 0 {
		t.Fatal("acted before group_interval")
	}
	f.clock.Advance(4 * time.Minute)
	fl = f.due()
	if len(fl) != 1 || fl[0].Target != "i-3" || fl[0].Trigger.Payload["dimensions"].(map[string]any)["InstanceId"] != "i-3" {
		t.Fatalf("second flush should act on the new alert i-3: %+v", fl)
	}
	if fl[0].ExecutionKey == first.ExecutionKey {
		t.Fatal("two group actions share an execution key")
	}
	f.c.Release(ctx, *fl[0].Lease, true)
	// Nothing changes: no action at each group_interval, again after
	// repeat_interval.
	for i := 0; i < 47; i++ {
		f.clock.Advance(5 * time.Minute)
		if fl := f.due(); len(fl) != 0 {
			t.Fatalf("unchanged group acted at +%dm", (i+1)*5)
		}
	}
	f.clock.Advance(5 * time.Minute)
	if fl := f.due(); len(fl) != 1 {
		t.Fatalf("no repeat after repeat_interval: %+v", fl)
	}
}

func TestResolvedClosesGroup(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "r", GroupWait: NoWait}
	d := f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg)
	want(t, d, true, "act")
	f.c.Release(ctx, *d.Lease, true)
	f.clock.Advance(time.Minute)
	// The OK event matches no rule (criteria state=ALARM): Observe alone
	// must close the group.
	obs := f.observe(f.alarm("disk-full", "i-1", "OK"))
	if !obs.Changed || obs.Alert.Status != alert.Resolved {
		t.Fatalf("resolution not tracked: %+v", obs)
	}
	if gs, _ := f.c.Groups(ctx); len(gs) != 0 {
		t.Fatalf("group still open: %+v", gs[0])
	}
	f.clock.Advance(time.Minute)
	want(t, f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg), true, "act")
	// Late, out-of-order OK (older than the current status) is ignored.
	late := f.alarm("disk-full", "i-1", "OK")
	late.Time = f.clock.Now().Add(-time.Hour)
	if obs := f.observe(late); obs.Changed {
		t.Fatal("a late delivery turned the status back")
	}
}

func TestSilenceAndInhibition(t *testing.T) {
	f := newFixture(t)
	rules, _ := inhibit.Compile([]inhibit.Spec{{SourceMatchers: []string{"alertname=instance-down"},
		TargetMatchers: []string{"alertname=~svc-.*"}, Equal: []string{"InstanceId"}}})
	f.c.Inhibit = rules
	cfg := Config{Rule: "r", GroupWait: NoWait}
	ms, _ := alert.ParseMatchers([]string{"InstanceId=i-9"})
	s, err := f.c.Silences().Add(ctx, silence.Silence{Matchers: ms, EndsAt: f.clock.Now().Add(time.Hour), CreatedBy: "ana", Comment: "reboot"})
	if err != nil {
		t.Fatal(err)
	}
	want(t, f.admit(f.alarm("disk-full", "i-9", "ALARM"), cfg), false, "silenced by "+s.ID+" (ana: reboot)")
	f.observe(f.alarm("instance-down", "i-1", "ALARM"))
	d := f.admit(f.alarm("svc-nginx", "i-1", "ALARM"), cfg)
	want(t, d, false, "inhibited by ")
	want(t, f.admit(f.alarm("svc-nginx", "i-2", "ALARM"), cfg), true, "act on i-2")
	// The source resolves: the target is no longer inhibited.
	f.clock.Advance(time.Second)
	f.observe(f.alarm("instance-down", "i-1", "OK"))
	want(t, f.admit(f.alarm("svc-nginx", "i-1", "ALARM"), cfg), true, "act on i-1")
}

func TestFlappingHoldsAction(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "r", GroupWait: NoWait}
	var d Decision
	for i := 0; i < 12; i++ {
		f.clock.Advance(time.Minute)
		st := "ALARM"
		if i%2 == 1 {
			st = "OK"
		}
		d = f.admit(f.alarm("cpu", "i-1", st), cfg)
		if d.Lease != nil {
			f.c.Release(ctx, *d.Lease, true)
		}
	}
	f.clock.Advance(time.Minute)
	want(t, f.admit(f.alarm("cpu", "i-1", "ALARM"), cfg), false, "flapping")
}

func TestGuardrailsInAdmitAndDue(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "r", GroupWait: NoWait, Guard: guard.Limits{BreakerFailures: 2, RatePerTarget: -1, BreakerRepeats: -1}}
	for i := 0; i < 2; i++ {
		d := f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg)
		want(t, d, true, "act")
		f.c.Release(ctx, *d.Lease, false)
		f.clock.Advance(time.Minute)
		f.observe(f.alarm("disk-full", "i-1", "OK"))
		f.clock.Advance(time.Minute)
	}
	d := f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg)
	if d.Act || !d.Escalate || !strings.Contains(d.Reason, "circuit open") {
		t.Fatalf("after 2 failures: %+v", d)
	}
	// Target busy at flush time: the group tries again next interval.
	cfg2 := Config{Rule: "r2", GroupBy: []string{"alertname"}}
	release, gd, err := f.c.Acquire(ctx, Config{Rule: "manual"}, "i-5")
	if err != nil || !gd.Act {
		t.Fatalf("manual acquire: %+v %v", gd, err)
	}
	f.admit(f.alarm("mem", "i-5", "ALARM"), cfg2)
	f.clock.Advance(30 * time.Second)
	fl := f.due()
	if len(fl) != 1 || fl[0].Act || !strings.Contains(fl[0].Reason, "target busy") {
		t.Fatalf("flush on busy target: %+v", fl)
	}
	release(true)
	f.clock.Advance(5 * time.Minute)
	if fl := f.due(); len(fl) != 1 || !fl[0].Act {
		t.Fatalf("retry after busy: %+v", fl)
	}
}

func TestNonAlertTriggersAreGuardedOnly(t *testing.T) {
	f := newFixture(t)
	tr := trigger.Trigger{ID: "tick-1", Type: trigger.TypeIntervalTimer, Payload: map[string]any{}}
	d := f.admit(tr, Config{Rule: "housekeeping"})
	want(t, d, true, "act on rule:housekeeping")
	if d.ExecutionKey != "tick-1" {
		t.Fatalf("execution key = %q", d.ExecutionKey)
	}
	want(t, f.admit(trigger.Trigger{ID: "tick-2", Type: trigger.TypeIntervalTimer}, Config{Rule: "housekeeping"}), false, "target busy")
}

func TestBadInput(t *testing.T) {
	var empty Consolidator
	if _, err := empty.Observe(ctx, trigger.Trigger{ID: "x"}); err == nil {
		t.Error("nil State accepted")
	}
	if _, err := empty.Due(ctx); err == nil {
		t.Error("nil State accepted by Due")
	}
	f := newFixture(t)
	if _, err := f.c.Admit(ctx, nil, Config{Rule: "r"}); err == nil {
		t.Error("nil observation accepted")
	}
	if _, err := f.c.Observe(ctx, trigger.Trigger{Type: trigger.TypeCloudWatchAlarm}); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Fatalf("missing id: %v", err)
	}
	obs, err := f.c.Observe(ctx, trigger.Trigger{ID: "x", Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"state": "ALARM"}})
	if err == nil || !strings.Contains(err.Error(), "alarm_name") || obs.IsAlert {
		t.Fatalf("bad payload: %+v %v", obs, err)
	}
	for _, cfg := range []Config{{}, {Rule: "r", GroupWait: -5}, {Rule: "r", GroupBy: []string{"...", "a"}}} {
		if _, err := f.c.Admit(ctx, obs, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestBindAndFinishByExecutionName(t *testing.T) {
	f := newFixture(t)
	cfg := Config{Rule: "r", GroupWait: NoWait}
	d := f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg)
	want(t, d, true, "act")
	if err := f.c.Bind(ctx, "r-abc123", *d.Lease); err != nil {
		t.Fatal(err)
	}
	if _, gd, _ := f.c.Acquire(ctx, Config{Rule: "other"}, "i-1"); gd.Act {
		t.Fatal("target free while the execution runs")
	}
	if err := f.c.Finish(ctx, "r-abc123", true); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Finish(ctx, "r-abc123", true); err != nil {
		t.Fatalf("second finish: %v", err)
	}
	if err := f.c.Finish(ctx, "never-bound", false); err != nil {
		t.Fatalf("unknown execution: %v", err)
	}
	if _, gd, _ := f.c.Acquire(ctx, Config{Rule: "other"}, "i-1"); !gd.Act {
		t.Fatalf("target still busy after Finish: %+v", gd)
	}
}

// One group whose stored record no longer decodes used to fail every
// flush, so no grouped alarm on any rule acted again. Now the other groups
// flush, the error is reported, and a store that can quarantines it.
func TestDamagedGroupDoesNotStopTheOthers(t *testing.T) {
	for _, withQuarantine := range []bool{false, true} {
		clock := statetest.NewClock()
		var st state.Store = state.NewMemory(clock.Now)
		var q *quarantine.Area
		if withQuarantine {
			dir := t.TempDir()
			q = quarantine.ForStateDir(dir)
			local, err := state.OpenLocal(filepath.Join(dir, state.LocalSubdir), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			local.Quarantine = q
			st = local
		}
		f := &fixture{t: t, clock: clock, c: &Consolidator{State: st, Now: clock.Now}}
		cfg := Config{Rule: "r", GroupBy: []string{"alertname"}}
		f.admit(f.alarm("disk-full", "i-1", "ALARM"), cfg)
		f.admit(f.alarm("svc-down", "i-2", "ALARM"), cfg)
		groups, _ := f.c.Groups(ctx)
		if len(groups) != 2 {
			t.Fatalf("groups = %d", len(groups))
		}
		// Damage one: its value is JSON, but not a group.
		k := groupKey(groups[0].ID)
		it, _, _ := st.Get(ctx, k)
		it.Value = []byte(`[1,2,3]`)
		if _, err := st.Put(ctx, it, state.Always()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		flushes, err := f.c.Due(ctx)
		if !withQuarantine && (err == nil || !strings.Contains(err.Error(), "corrupt")) {
			t.Fatalf("the damage is not reported: %v", err)
		}
		if withQuarantine && err != nil {
			t.Fatalf("a quarantined group is still an error: %v", err)
		}
		if len(flushes) != 1 || flushes[0].GroupKey != groups[1].Key() {
			t.Fatalf("quarantine %v: the healthy group did not flush: %+v", withQuarantine, flushes)
		}
		if withQuarantine {
			if list, _ := q.List(); len(list) != 1 {
				t.Fatalf("quarantine = %+v", list)
			}
			if _, err := f.c.Groups(ctx); err != nil {
				t.Fatalf("after quarantine, groups still fail: %v", err)
			}
		}
	}
}

// A delivery claimed by a process that died before dealing with it (the
// sender got no answer and retries) used to be dropped as a duplicate for
// 48 hours. Now the claim is pending until Delivered, and a redelivery
// after PendingGrace takes it over; once Delivered it is a duplicate.
func TestAbandonedDeliveryClaimIsTakenOver(t *testing.T) {
	f := newFixture(t)
	alarm := f.alarm("disk-full", "i-1", "ALARM")
	if obs := f.observe(alarm); obs.Duplicate {
		t.Fatal("first delivery taken for a duplicate")
	}
	// The process dies here. A retry within the grace is still a
	// duplicate: the first may simply be slow.
	f.clock.Advance(30 * time.Second)
	if obs := f.observe(alarm); !obs.Duplicate {
		t.Fatal("a retry during the grace was not a duplicate")
	}
	f.clock.Advance(2 * time.Minute)
	obs := f.observe(alarm)
	if obs.Duplicate || !obs.IsAlert {
		t.Fatalf("the abandoned delivery was not taken over: %+v", obs)
	}
	// Only one taker.
	if obs := f.observe(alarm); !obs.Duplicate {
		t.Fatal("taken over twice")
	}
	if err := f.c.Delivered(ctx, alarm); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if obs := f.observe(alarm); !obs.Duplicate {
		t.Fatal("a delivery dealt with was taken over")
	}
}

// A damaged alert record used to fail every delivery of that alert, and a
// damaged silence every admission of every alert. Now each is set aside
// and the path goes on.
func TestDamagedAlertAndSilenceAreSetAside(t *testing.T) {
	clock := statetest.NewClock()
	dir := t.TempDir()
	local, err := state.OpenLocal(filepath.Join(dir, state.LocalSubdir), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q := quarantine.ForStateDir(dir)
	local.Quarantine = q
	f := &fixture{t: t, clock: clock, c: &Consolidator{State: local, Now: clock.Now}}
	cfg := Config{Rule: "r", GroupWait: NoWait}
	first := f.alarm("disk-full", "i-1", "ALARM")
	f.observe(first)
	ms, _ := alert.ParseMatchers([]string{"InstanceId=i-9"})
	s, err := f.c.Silences().Add(ctx, silence.Silence{Matchers: ms, EndsAt: clock.Now().Add(time.Hour), CreatedBy: "ana", Comment: "maintenance"})
	if err != nil {
		t.Fatal(err)
	}
	damage := func(k state.Key) {
		it, _, _ := local.Get(ctx, k)
		it.Value = []byte(`"not a record"`)
		if _, err := local.Put(ctx, it, state.Always()); err != nil {
			t.Fatal(err)
		}
	}
	obs := f.observe(f.alarm("disk-full", "i-1", "ALARM"))
	damage(alertKey(obs.Alert.Fingerprint))
	damage(state.Key{PK: "silence", SK: s.ID})
	clock.Advance(time.Minute)
	if d := f.admit(f.alarm("disk-full", "i-1", "OK"), cfg); d.Act { // tracks the damaged alert
		t.Fatalf("a resolution acted: %+v", d)
	}
	if d := f.admit(f.alarm("disk-full", "i-2", "ALARM"), cfg); !d.Act { // reads the silences
		t.Fatalf("a new alert did not act: %+v", d)
	}
	if _, err := f.c.Alerts(ctx); err != nil {
		t.Fatalf("alerts list: %v", err)
	}
	if list, _ := q.List(); len(list) != 2 {
		t.Fatalf("quarantine = %+v", list)
	}
}
