package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/target"
	"github.com/medic-sre/medic/internal/target/ec2fake"
)

// shopAccount: the app instance Prometheus scrapes at 10.0.1.5 needs the
// database db-main (its medic:depends-on tag names it by Name tag).
var shopAccount = []ec2fake.Instance{
	{ID: "i-0app1234def5678901", State: "running", PrivateIP: "10.0.1.5", PrivateDNS: "ip-10-0-1-5.ec2.internal",
		Tags: map[string]string{"Name": "shop-api-1", target.DependsOnTag: "db-main"}},
	{ID: "i-0db1234def5678901", State: "running", PrivateIP: "10.0.2.9", Tags: map[string]string{"Name": "db-main"}},
}

// withEC2 is the Lambda as deployed with its resolver: the real EC2
// client, over the wire to the fake, behind the in-memory cache.
func withEC2(t *testing.T, h *Handler) *ec2fake.Server {
	fake := &ec2fake.Server{Instances: shopAccount}
	h.ResolveWith(&target.Cache{Next: &target.EC2{API: fake.Client(t)}})
	return fake
}

// topologyEvent is a sample of events/topology/ with a fresh delivery id
// and its time set to at.
func topologyEvent(t *testing.T, name, id string, at time.Time) json.RawMessage {
	t.Helper()
	ev := sample(t, "topology/"+name)
	if alerts, ok := ev["alerts"].([]any); ok { // Alertmanager: the id comes from the labels and startsAt
		alerts[0].(map[string]any)["startsAt"] = at.Format(time.RFC3339Nano)
		return marshal(t, ev)
	}
	ev["id"], ev["time"] = id, at.Format(time.RFC3339)
	ev["detail"].(map[string]any)["state"].(map[string]any)["timestamp"] = at.Format("2006-01-02T15:04:05.000-0700")
	return marshal(t, ev)
}

func outcomesOf(res Response) []engine.Outcome {
	var out []engine.Outcome
	for _, tr := range res.Triggers {
		out = append(out, tr.Outcomes...)
	}
	return out
}

func ruleOutcome(t *testing.T, outs []engine.Outcome, rule string) engine.Outcome {
	t.Helper()
	for _, o := range outs {
		if o.Rule == rule {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %+v", rule, outs)
	return engine.Outcome{}
}

const restartRule = "linux.restart_service_on_unit_failed"

// The database's CPU alarm fires, then the app's unit fails: the app's
// alert (instance 10.0.1.5:9100, resolved through DescribeInstances) is a
// symptom of the database's incident, held; the database is remediated
// with the symptom on its timeline. When the database's alarm returns to
// OK, the app's alert is re-evaluated and its fix runs on the instance the
// IP resolved to.
func TestDatabaseAlarmThenAppAlertIsASymptomUntilTheRootResolves(t *testing.T) {
	h, st, clock := consolidating(t)
	fake := withEC2(t, h)
	handle(t, h, topologyEvent(t, "db-main-cpu-alarm.json", "db-1", clock.Now()))
	clock.Advance(5 * time.Second)
	app := ruleOutcome(t, outcomesOf(handle(t, h, topologyEvent(t, "app-unit-failed-by-ip.json", "", clock.Now()))), restartRule)
	if !strings.HasPrefix(app.Held, "symptom of db-main-cpu-high") || app.SymptomOf == nil ||
		app.SymptomOf.Node != "instance:i-0db1234def5678901" || len(app.SymptomOf.Groups) == 0 || app.Execution != "" {
		t.Fatalf("the app alert should be held as a symptom of the database's incident: %+v", app)
	}
	clock.Advance(31 * time.Second) // the linux pack's group_wait
	flushed := handle(t, h, flushEvent(t)).Flushed
	var dbRun *execution.Record
	for _, o := range flushed {
		switch {
		case o.Rule == restartRule && (o.Execution != "" || !strings.HasPrefix(o.Held, "symptom of")):
			t.Fatalf("the symptom acted at its flush: %+v", o)
		case o.Rule != restartRule && o.Execution != "":
			dbRun = st.find(o.Execution)
		}
	}
	if dbRun == nil || !strings.Contains(timeline(dbRun.Timeline), "held as symptoms of this root cause") ||
		!strings.Contains(timeline(dbRun.Timeline), "SystemdUnitFailed on 10.0.1.5:9100") {
		t.Fatalf("the database's remediation should show its symptom: %+v", flushed)
	}
	handle(t, h, statusEvent(t, dbRun.ID, "SUCCEEDED"))
	clock.Advance(time.Minute)
	handle(t, h, topologyEvent(t, "db-main-cpu-ok.json", "db-2", clock.Now()))
	woken := ruleOutcome(t, handle(t, h, flushEvent(t)).Flushed, restartRule)
	run := st.find(woken.Execution)
	if run == nil || run.Params["target"] != "i-0app1234def5678901" {
		t.Fatalf("once the root resolved, the symptom should act on its resolved instance: %+v %+v", woken, run)
	}
	if calls := fake.Calls.Load(); calls > 4 {
		t.Errorf("%d DescribeInstances calls; the cache should keep them to one per address", calls)
	}
}

// The app's unit fails first and waits in its group; the database alarm
// fires before the group acts: the pending action is held, not started.
func TestAppAlertFirstIsHeldOnceTheDatabaseFires(t *testing.T) {
	h, st, clock := consolidating(t)
	withEC2(t, h)
	app := ruleOutcome(t, outcomesOf(handle(t, h, topologyEvent(t, "app-unit-failed-by-ip.json", "", clock.Now()))), restartRule)
	if !strings.HasPrefix(app.Held, "grouped into") {
		t.Fatalf("the app alert should wait in its group: %+v", app)
	}
	clock.Advance(10 * time.Second)
	handle(t, h, topologyEvent(t, "db-main-cpu-alarm.json", "db-1", clock.Now()))
	clock.Advance(25 * time.Second) // the app's group_wait is over, the database's not yet
	held := ruleOutcome(t, handle(t, h, flushEvent(t)).Flushed, restartRule)
	if !strings.HasPrefix(held.Held, "symptom of db-main-cpu-high") || held.Execution != "" {
		t.Fatalf("the pending action should be held once the root fires: %+v", held)
	}
	for _, r := range st.started {
		if r.Rule == restartRule {
			t.Fatalf("the symptom's remediation started: %+v", r)
		}
	}
}

// An instance that DescribeInstances does not know is refused and
// escalated; the invoke is acknowledged (retrying cannot fix it).
func TestUnknownInstanceIsEscalatedNotRetried(t *testing.T) {
	h, st, clock := consolidating(t)
	withEC2(t, h)
	ev := sample(t, "topology/app-unit-failed-by-ip.json")
	alert := ev["alerts"].([]any)[0].(map[string]any)
	alert["labels"].(map[string]any)["instance"] = "10.0.7.7:9100"
	alert["startsAt"] = clock.Now().Format(time.RFC3339Nano)
	res, err := h.Handle(t.Context(), marshal(t, ev))
	if err != nil {
		t.Fatalf("an unresolvable instance must not fail the invoke: %v", err)
	}
	o := ruleOutcome(t, outcomesOf(res), restartRule)
	if !strings.Contains(o.Held, "target unresolved: no instance has this address: ipv4 10.0.7.7") || o.Escalation == "" {
		t.Fatalf("%+v", o)
	}
	if len(st.started) != 1 || st.started[0].Action != engine.DefaultEscalationAction {
		t.Fatalf("only the escalation should start: %+v", st.started)
	}
}

// find is the started execution named id, or nil.
func (s *recordingStarter) find(id string) *execution.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.started {
		if r.ID == id && id != "" {
			return r
		}
	}
	return nil
}
