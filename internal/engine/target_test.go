package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/target"
	"github.com/medic-sre/medic/internal/trigger"
)

var testFleet = []target.FleetInstance{
	{ID: "i-0app1", State: "running", PrivateIP: "10.0.1.5", PrivateDNS: "ip-10-0-1-5.ec2.internal"},
	{ID: "i-0twin1", State: "running", PrivateIP: "10.0.9.9"},
	{ID: "i-0twin2", State: "running", PrivateIP: "10.0.9.9"},
}

func localTargets() target.Resolver {
	return &target.Local{Instances: func() []target.FleetInstance { return testFleet }}
}

// unitFailedAt is the Alertmanager webhook of a SystemdUnitFailed alert
// from node_exporter on the instance Prometheus scraped.
func unitFailedAt(t *testing.T, instance string) trigger.Trigger {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "medic", "groupKey": "{}",
		"alerts": []any{map[string]any{"status": "firing", "startsAt": "2026-12-04T10:00:00Z",
			"labels": map[string]any{"alertname": "SystemdUnitFailed", "name": "nginx.service", "instance": instance}}}})
	ts, err := sensor.Parse(body, sensor.Request{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("sensor: %v", err)
	}
	return ts[0]
}

func TestPrometheusInstanceIsResolvedForTheShippedRule(t *testing.T) {
	for instance, want := range map[string]string{
		"10.0.1.5:9100":                 "i-0app1",
		"ip-10-0-1-5.ec2.internal:9100": "i-0app1",
		"ip-10-0-1-5:9100":              "i-0app1",
		"localhost:9100":                target.LocalTarget,
		"127.0.0.1:9100":                target.LocalTarget,
	} {
		e, st := newEngine(t)
		e.Targets = localTargets()
		out := e.Handle(context.Background(), unitFailedAt(t, instance))
		if len(out) != 1 || out[0].Rule != "linux.restart_service_on_unit_failed" || out[0].Execution == "" || out[0].Held != "" {
			t.Fatalf("%s: %+v", instance, out)
		}
		input := st.started[out[0].Execution].(map[string]any)
		if input["target"] != want {
			t.Errorf("%s: ran on %v, want %s", instance, input["target"], want)
		}
	}
}

// An instance that resolves to no host, or to several, is refused with
// the reason and escalated: the remediation never runs on a guessed host.
func TestUnresolvedInstanceIsRefusedAndEscalated(t *testing.T) {
	for instance, why := range map[string]string{
		"10.0.7.7:9100":            "no instance has this address",
		"10.0.9.9:9100":            "several instances have this address: ipv4 10.0.9.9 matches i-0twin1, i-0twin2",
		"--host=evil.example:9100": "not an instance address",
		"10.0.1.5:99999":           "not an instance address",
		"../../etc/passwd":         "not an instance address",
		"10.0.1.5:9100:9100":       "not an instance address",
		"":                         "the alert names no instance",
		strings.Repeat("a.", 200):  "not an instance address",
	} {
		e, st := newEngine(t)
		e.Targets = localTargets()
		out := e.Handle(context.Background(), unitFailedAt(t, instance))
		if len(out) != 1 || out[0].Execution != "" || !strings.HasPrefix(out[0].Held, "target unresolved: ") ||
			!strings.Contains(out[0].Held, why) || out[0].Escalation == "" {
			t.Fatalf("%.40s: %+v; want held with %q and escalated", instance, out, why)
		}
		if len(st.started) != 1 {
			t.Fatalf("%.40s: %d executions; want only the escalation", instance, len(st.started))
		}
		msg := st.started[out[0].Escalation].(map[string]any)
		if b, _ := json.Marshal(msg); !strings.Contains(string(b), "target unresolved") {
			t.Errorf("%.40s: the escalation does not say why: %s", instance, b)
		}
	}
}

type failingResolver struct{}

func (failingResolver) Resolve(context.Context, target.Address) (target.Target, error) {
	return target.Target{}, errors.New("ec2:DescribeInstances: ThrottlingException: Rate exceeded")
}

// An API failure may pass on a retry: the rule fails (so the event source
// retries the delivery), it is not escalated, and the retry is not a
// duplicate.
func TestResolverAPIFailureIsRetriedNotEscalated(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	e.Targets = failingResolver{}
	ctx := context.Background()
	alert := unitFailedAt(t, "10.0.1.5:9100")
	out := e.Handle(ctx, alert)
	if len(out) != 1 || !strings.Contains(out[0].Error, "ThrottlingException") || out[0].Escalation != "" || len(st.started) != 0 {
		t.Fatalf("%+v", out)
	}
	e.Targets = localTargets()
	retry := e.Handle(ctx, alert)
	if len(retry) != 1 || retry[0].Duplicate || retry[0].Error != "" || !strings.HasPrefix(retry[0].Held, "grouped into") {
		t.Fatalf("the retry: %+v", retry)
	}
}

// Rules that do not read trigger.target are not refused when the alert's
// instance is unknown (an alarm naming its instance id directly).
func TestRulesWithoutTargetIgnoreResolution(t *testing.T) {
	e, st := newEngine(t)
	e.Targets = localTargets() // i-0abc is not in this fleet
	out := e.Handle(context.Background(), diskAlarm("evt-1", "ALARM"))
	if len(out) != 1 || out[0].Execution == "" || len(st.started) != 1 {
		t.Fatalf("%+v", out)
	}
}

// The target is Medic's: for alerts it replaces anything of that name,
// and the sender's payload map is not changed.
func TestTargetPayloadIsTheEngines(t *testing.T) {
	al := unitFailedAt(t, "10.0.1.5:9100")
	before := len(al.Payload)
	got := WithTarget(context.Background(), localTargets(), al)
	tg, _ := got.Payload["target"].(map[string]any)
	if tg["instance_id"] != "i-0app1" || tg["resolved"] != true || len(al.Payload) != before {
		t.Fatalf("%v (sender payload now has %d keys, had %d)", tg, len(al.Payload), before)
	}
	hook := trigger.Trigger{Type: "core.st2.webhook", Payload: map[string]any{"target": "x"}}
	if WithTarget(context.Background(), localTargets(), hook).Payload["target"] != "x" {
		t.Fatal("a webhook's payload is the sender's own and is left alone")
	}
}

// The root cause and its symptoms read in one thread: a symptom that
// arrives after the root's remediation started is told to that execution.
func TestNewSymptomIsToldToTheRootsRemediation(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	fleet := []target.FleetInstance{
		{ID: "i-0abc", State: "running"},
		{ID: "i-0app1", State: "running", PrivateIP: "10.0.1.5", Tags: map[string]string{target.DependsOnTag: "i-0abc"}},
	}
	e.Targets = &target.Local{Instances: func() []target.FleetInstance { return fleet }}
	type note struct{ id, name, detail string }
	var notes []note
	e.Annotate = func(_ context.Context, id string, s execution.Step) {
		notes = append(notes, note{id, s.Name, s.Detail})
	}
	ctx := context.Background()
	root := e.Handle(ctx, diskAlarm("evt-1", "ALARM")) // free_disk_on_alarm acts at once
	if len(root) != 1 || root[0].Execution == "" {
		t.Fatalf("root: %+v", root)
	}
	app := e.Handle(ctx, unitFailedAt(t, "10.0.1.5:9100"))
	if len(app) != 1 || !strings.HasPrefix(app[0].Held, "symptom of disk-full") || app[0].SymptomOf == nil {
		t.Fatalf("symptom: %+v", app)
	}
	if len(notes) != 1 || notes[0].id != root[0].Execution || !strings.Contains(notes[0].name, "SystemdUnitFailed on 10.0.1.5:9100") ||
		!strings.Contains(notes[0].detail, "held: symptom of disk-full") {
		t.Fatalf("the root's thread should be told once: %+v", notes)
	}
	if len(st.started) != 1 {
		t.Fatalf("%d started; the symptom must not run", len(st.started))
	}
}
