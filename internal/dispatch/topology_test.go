package dispatch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/trigger"
)

// appNeedsDB: alerts of app-* instances depend on db-main's alerts.
func appNeedsDB(t *testing.T) []Dependency {
	t.Helper()
	dependents, err := alert.ParseMatchers([]string{`InstanceId=~"i-app.*"`})
	if err != nil {
		t.Fatal(err)
	}
	dependsOn, err := alert.ParseMatchers([]string{`InstanceId="i-db"`})
	if err != nil {
		t.Fatal(err)
	}
	return []Dependency{{Name: "shop.app-needs-db", Dependents: dependents, DependsOn: dependsOn}}
}

func topologyFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.c.Topology = appNeedsDB(t)
	return f
}

var (
	dbRule  = Config{Rule: "db.failover", GroupWait: NoWait}
	appRule = Config{Rule: "app.restart", GroupWait: NoWait}
)

func TestDependentAlertIsASymptomOfTheFiringRoot(t *testing.T) {
	f := topologyFixture(t)
	db := f.admit(f.alarm("db-down", "i-db", "ALARM"), dbRule)
	want(t, db, true, "act on i-db")
	app := f.admit(f.alarm("app-5xx", "i-app1", "ALARM"), appRule)
	want(t, app, false, "symptom of db-down")
	if app.Symptom == nil || app.Symptom.Node != "dep:shop.app-needs-db" || len(app.Symptom.Groups) != 1 ||
		!strings.HasPrefix(app.Symptom.Groups[0], "db.failover#") {
		t.Fatalf("the symptom does not name the root's incident: %+v", app.Symptom)
	}
	// Nothing acts for the symptom at its flush either.
	for _, fl := range f.due() {
		if fl.Rule == appRule.Rule && (fl.Act || !strings.Contains(fl.Reason, "symptom of db-down")) {
			t.Fatalf("the symptom's group acted: %+v", fl.Decision)
		}
	}
	// An alert that does not depend on the root is not held.
	other := f.admit(f.alarm("app-5xx", "i-web9", "ALARM"), appRule)
	want(t, other, true, "act on i-web9")
}

// An app alert waiting in its group (group_wait) when the database alert
// fires is held at its flush: it had not started yet.
func TestPendingGroupActionIsHeldOnceTheRootFires(t *testing.T) {
	f := topologyFixture(t)
	waiting := appRule
	waiting.GroupWait = 30 * time.Second
	want(t, f.admit(f.alarm("app-5xx", "i-app1", "ALARM"), waiting), false, "waiting until")
	f.observe(f.alarm("db-down", "i-db", "ALARM")) // the root: no rule of its own needed
	f.clock.Advance(31 * time.Second)
	fl := f.due()
	if len(fl) != 1 || fl[0].Act || !strings.Contains(fl[0].Reason, "symptom of db-down") || fl[0].Lease != nil {
		t.Fatalf("want the pending action held as a symptom: %+v", fl)
	}
	if again := f.due(); len(again) != 0 {
		t.Fatalf("a held group waits its group_interval: %+v", again)
	}
}

// When the root resolves, its symptoms are woken and re-evaluated at once:
// still firing, they act as any alert would.
func TestSymptomActsWhenTheRootResolves(t *testing.T) {
	f := topologyFixture(t)
	f.admit(f.alarm("db-down", "i-db", "ALARM"), dbRule)
	want(t, f.admit(f.alarm("app-5xx", "i-app1", "ALARM"), appRule), false, "symptom of")
	f.due() // holds the symptom's group for group_interval
	f.clock.Advance(time.Minute)
	f.observe(f.alarm("db-down", "i-db", "OK"))
	fl := f.due()
	if len(fl) != 1 || !fl[0].Act || fl[0].Rule != appRule.Rule || fl[0].Target != "i-app1" {
		t.Fatalf("the symptom should act once its root resolved: %+v", fl)
	}
	// A new app alert after the root resolved is no symptom.
	want(t, f.admit(f.alarm("app-5xx", "i-app2", "ALARM"), appRule), true, "act on i-app2")
}

// The medic:depends-on tag (resolved into the payload's target) makes the
// same dependency without any pack declaring it.
func TestDependsOnTagMakesSymptoms(t *testing.T) {
	f := newFixture(t) // no declared topology
	withTarget := func(tr trigger.Trigger, id string, deps ...any) trigger.Trigger {
		tr.Payload["target"] = map[string]any{"resolved": true, "instance_id": id, "depends_on": deps}
		return tr
	}
	f.observe(withTarget(f.alarm("disk-full", "i-0db", "ALARM"), "i-0db"))
	d := f.admit(withTarget(f.alarm("app-5xx", "i-0app", "ALARM"), "i-0app", "i-0db"), appRule)
	want(t, d, false, "symptom of disk-full")
	if d.Symptom.Node != "instance:i-0db" {
		t.Fatalf("%+v", d.Symptom)
	}
	// An unresolved target carries no dependency: never held on a guess.
	unresolved := f.alarm("app-5xx", "i-0app2", "ALARM")
	unresolved.Payload["target"] = map[string]any{"resolved": false, "instance_id": "", "depends_on": []any{"i-0db"}}
	want(t, f.admit(unresolved, appRule), true, "act on i-0app2")
}

// An alert that matches both sides of a dependency is its root, not its
// own symptom; two roots on one node keep it down until both resolve.
func TestRootIsNotItsOwnSymptomAndNodeNeedsAllRootsUp(t *testing.T) {
	f := topologyFixture(t)
	both, _ := alert.ParseMatchers([]string{`alertname=~"db-.*"`})
	f.c.Topology = append(f.c.Topology, Dependency{Name: "x.db", Dependents: both, DependsOn: both})
	want(t, f.admit(f.alarm("db-down", "i-db", "ALARM"), dbRule), true, "act on i-db")
	f.clock.Advance(time.Second)
	slow := Config{Rule: "db.tune", GroupWait: NoWait}
	if d := f.admit(f.alarm("db-slow", "i-db", "ALARM"), slow); d.Symptom != nil {
		t.Fatalf("db-slow is a root of x.db, not a symptom of db-down: %+v", d)
	}
	f.observe(f.alarm("db-down", "i-db", "OK"))
	want(t, f.admit(f.alarm("app-5xx", "i-app1", "ALARM"), appRule), false, "symptom of db-slow")
	f.observe(f.alarm("db-slow", "i-db", "OK"))
	want(t, f.admit(f.alarm("app-5xx", "i-app2", "ALARM"), appRule), true, "act on i-app2")
}

// A storm of 200 symptoms costs 200 admissions of constant cost: no scan
// of the alerts, the 200th costs what the 1st did, and nothing acts.
func TestSymptomStormCostsOneAdmissionEach(t *testing.T) {
	f := topologyFixture(t)
	store := &countingStore{Store: f.c.State}
	f.c.State = store
	f.admit(f.alarm("db-down", "i-db", "ALARM"), dbRule)
	var first, last int64
	for i := 0; i < 200; i++ {
		before := store.ops.Load()
		d := f.admit(f.alarm("app-5xx", fmt.Sprintf("i-app%03d", i), "ALARM"), appRule)
		cost := store.ops.Load() - before
		if d.Act || d.Symptom == nil {
			t.Fatalf("symptom %d acted: %+v", i, d)
		}
		if i == 0 {
			first = cost
		}
		last = cost
	}
	if store.alertScans.Load() != 0 {
		t.Fatalf("%d scans of all alerts; topology must read only the nodes an alert needs", store.alertScans.Load())
	}
	t.Logf("state operations per symptom admission: first %d, 200th %d", first, last)
	if last > first || first > 16 {
		t.Fatalf("admission cost grew from %d to %d state operations (want constant, at most 16)", first, last)
	}
	// The root's resolution wakes every symptom (they act once each).
	f.clock.Advance(time.Minute)
	f.observe(f.alarm("db-down", "i-db", "OK"))
	acted := 0
	for _, fl := range f.due() {
		if fl.Act {
			acted++
		}
	}
	if acted != 30 { // the default rate_per_rule; the rest are deferred, not dropped
		t.Fatalf("%d symptoms acted after the root resolved; want 30 (rate_per_rule)", acted)
	}
}

// Labels are the sender's: a symptom's name on the root's timeline is
// bounded however long its labels are.
func TestSymptomNamesOnTheRootAreBounded(t *testing.T) {
	f := topologyFixture(t)
	root := f.alarm("db-down", "i-db", "ALARM")
	f.observe(root)
	huge := strings.Repeat("x", 10000)
	d := f.admit(f.alarm(huge, "i-app"+huge, "ALARM"), appRule)
	want(t, d, false, "symptom of db-down")
	a, err := alert.FromTrigger(root)
	if err != nil {
		t.Fatal(err)
	}
	names, err := f.c.symptomsOf(ctx, a, root)
	if err != nil || len(names) != 1 {
		t.Fatalf("%q, %v; want the one symptom", names, err)
	}
	if len(names[0]) > 160 {
		t.Fatalf("the symptom's name is %d bytes; want it bounded", len(names[0]))
	}
}

// A symptom listed on its root for the first time names the root's
// started remediations (to tell their threads); a repeat does not.
func TestNewSymptomAnnouncesTheRootsActions(t *testing.T) {
	f := topologyFixture(t)
	db := f.admit(f.alarm("db-down", "i-db", "ALARM"), dbRule)
	want(t, db, true, "act on i-db")
	first := f.admit(f.alarm("app-5xx", "i-app1", "ALARM"), appRule)
	if len(first.Announce) != 1 || len(first.Announce[0].Incidents) != 1 ||
		first.Announce[0].Incidents[0] != (Incident{Rule: dbRule.Rule, ExecutionKey: db.ExecutionKey}) ||
		!strings.HasPrefix(first.Announce[0].Symptom, "app-5xx on i-app1") {
		t.Fatalf("announce %+v; want the root's action %s", first.Announce, db.ExecutionKey)
	}
	if repeat := f.admit(f.alarm("app-5xx", "i-app1", "ALARM"), appRule); repeat.Symptom == nil || len(repeat.Announce) != 0 {
		t.Fatalf("a repeat is held but not announced again: %+v", repeat)
	}
}
