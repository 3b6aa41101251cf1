package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/target"
	"github.com/medic-sre/medic/internal/trigger"
)

// hostFleet resolves the test fleet and i-0abc, the host of unitFailed.
func hostFleet() target.Resolver {
	return &target.Local{Instances: func() []target.FleetInstance {
		return append(slices.Clone(testFleet), target.FleetInstance{ID: "i-0abc", State: "running"})
	}}
}

func unitFailed(id, unit string) trigger.Trigger {
	return trigger.Trigger{ID: id, Type: trigger.TypeAlertmanager, Source: "alertmanager", Payload: map[string]any{
		"status": "firing", "alertname": "SystemdUnitFailed", "fingerprint": "fp-" + unit,
		"labels": map[string]any{"alertname": "SystemdUnitFailed", "name": unit, "instance_id": "i-0abc"},
	}}
}

// An alert whose unit name is an option (systemctl would ssh to the host
// it names) is refused when the run is planned: the outcome says refused
// and why, naming the parameter and the constraint, and nothing starts,
// not even the diagnose step.
func TestHostileAlertIsRefusedBeforeAnythingRuns(t *testing.T) {
	for _, unit := range []string{"--host=evil.example", "-H evil", "nginx;reboot"} {
		e, st := newEngine(t)
		e.Targets = hostFleet()
		out := e.Handle(context.Background(), unitFailed("evt-"+unit, unit))
		if len(out) != 1 || out[0].Rule != "linux.restart_service_on_unit_failed" {
			t.Fatalf("%q: outcomes %+v", unit, out)
		}
		o := out[0]
		if o.Error != "" || o.Execution != "" || !strings.Contains(o.Refused, `parameter "service"`) || !strings.Contains(o.Refused, "format systemd-unit") {
			t.Errorf("%q: want refused naming service and systemd-unit, got %+v", unit, o)
		}
		if n := remediations(st); n != 0 {
			t.Errorf("%q: %d remediations started", unit, n)
		}
		if o.Escalation == "" || len(st.started) != 1 || !strings.HasPrefix(o.Escalation, "escalate-refused-") {
			t.Errorf("%q: the refusal was not told to a human: %+v, started %v", unit, o, st.started)
		}
		// The same alert delivered again is told once.
		again := e.Handle(context.Background(), unitFailed("evt-again-"+unit, unit))
		if len(again) != 1 || again[0].Escalation != o.Escalation || len(st.started) != 1 {
			t.Errorf("%q: a repeat was told again: %+v, started %d", unit, again, len(st.started))
		}
	}
}

// remediations counts the executions started that are not Medic telling a
// human (escalations).
func remediations(st *recordingStarter) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for id := range st.started {
		if !strings.HasPrefix(id, "escalate-") {
			n++
		}
	}
	return n
}

// With consolidation, a refused run is refused before it is admitted: it
// joins no group (nothing acts at the next flush), takes no lease and no
// rate-limit slot, and does not feed the breaker, so a flood of hostile
// alerts cannot keep Medic from healing the same instance.
func TestRefusedRunsTakeNoTurnOnTheTarget(t *testing.T) {
	e, st, clock, _ := consolidatingEngine(t, 0)
	e.Targets = hostFleet()
	ctx := context.Background()
	for i, path := range []string{"//etc", "/tmp/../etc", "/usr/../etc", "/etc/", "//", "/proc/self"} {
		alarm := diskAlarm("hostile-"+path, "ALARM")
		alarm.Payload["dimensions"] = map[string]any{"path": path}
		alarm.Payload["alarm_name"] = "disk-full-" + string(rune('a'+i))
		out := e.Handle(ctx, alarm)
		if len(out) != 1 || out[0].Refused == "" || out[0].Error != "" || out[0].Held != "" {
			t.Fatalf("%q: want refused, got %+v", path, out)
		}
	}
	unit := e.Handle(ctx, unitFailed("evt-u", "-H evil"))
	if len(unit) != 1 || unit[0].Refused == "" {
		t.Fatalf("unit: %+v", unit)
	}
	clock.t = clock.t.Add(time.Minute)
	if flushed, err := e.Flush(ctx); err != nil || len(flushed) != 0 {
		t.Fatalf("a refused alert formed a group: %+v %v", flushed, err)
	}
	out := e.Handle(ctx, diskAlarm("evt-ok", "ALARM"))
	if len(out) != 1 || out[0].Execution == "" || out[0].Held != "" || out[0].Refused != "" {
		t.Fatalf("the genuine alarm should act at once: %+v", out)
	}
	if n := remediations(&st.recordingStarter); n != 1 {
		t.Fatalf("%d remediations started, want 1", n)
	}
}

// A group formed by a good alert whose run is refused when it flushes
// (here: the pack was reloaded with a stricter schema) gives its lease
// back: nothing ran, and the target is free for the next run.
func TestRefusalAtFlushGivesTheTurnBack(t *testing.T) {
	e, st, clock, _ := consolidatingEngine(t, 0)
	e.Targets = hostFleet()
	ctx := context.Background()
	out := e.Handle(ctx, unitFailed("evt-1", "nginx.service"))
	if len(out) != 1 || !strings.HasPrefix(out[0].Held, "grouped into") {
		t.Fatalf("want grouped: %+v", out)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../packs")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "linux", "actions", "restart_service.yaml")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stricter := strings.Replace(string(src), "format: systemd-unit", "format: systemd-unit\n    pattern: 'postgres.*'", 1)
	if err := os.WriteFile(file, []byte(stricter), 0o644); err != nil {
		t.Fatal(err)
	}
	reloaded, err := pack.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.Packs, e.Rules = reloaded, rule.NewIndex(reloaded.Rules())
	clock.t = clock.t.Add(time.Minute)
	flushed, err := e.Flush(ctx)
	if err != nil || len(flushed) != 1 || !strings.Contains(flushed[0].Refused, "does not match pattern postgres.*") || flushed[0].Error != "" {
		t.Fatalf("want the flush refused: %+v %v", flushed, err)
	}
	if n := remediations(&st.recordingStarter); n != 0 || flushed[0].Escalation == "" {
		t.Fatalf("%d remediations started, escalation %q", n, flushed[0].Escalation)
	}
	again := e.Handle(ctx, diskAlarm("evt-disk", "ALARM"))
	if len(again) != 1 || again[0].Execution == "" {
		t.Fatalf("the target should be free: %+v", again)
	}
}

// A run asked for in chat goes through StartAction: the refusal is a
// *PlanRefusedError whose text names the parameter and the constraint, which
// the chat layer shows the user; nothing starts.
func TestChatRunRefusalIsAClearError(t *testing.T) {
	e, st := newEngine(t)
	_, _, err := e.StartAction(context.Background(), Run{Name: "chat-1", Action: "linux.restart_service",
		Params: map[string]any{"target": "localhost", "service": "--host=evil.example"}})
	var refused *PlanRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("want a PlanRefusedError, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "action linux.restart_service") || !strings.Contains(msg, `parameter "service": "--host=evil.example" is not format systemd-unit`) {
		t.Fatalf("unclear refusal: %s", msg)
	}
	if len(st.started) != 0 {
		t.Fatal("started")
	}
}

// The real-shaped sample alerts in events/ still plan with the strict
// schemas: every rule they fire starts, none is refused.
func TestSampleEventsPlanUnderTheStrictSchemas(t *testing.T) {
	files, _ := filepath.Glob("../../events/*/*.json")
	started := 0
	for _, f := range files {
		if strings.Contains(f, "/invalid/") || strings.Contains(f, "/control/") {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		req := sensor.Request{}
		if strings.Contains(f, "/webhook/") {
			req = sensor.Request{Path: "/v1/webhooks/generic", Hint: sensor.HintWebhook}
		}
		triggers, err := sensor.Parse(body, req)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		e, _ := newEngine(t)
		e.Targets = hostFleet()
		for _, tr := range triggers {
			for _, o := range e.Handle(context.Background(), tr) {
				if o.Refused != "" || o.Error != "" {
					t.Errorf("%s: rule %s: refused %q, error %q", f, o.Rule, o.Refused, o.Error)
				}
				if o.Execution != "" {
					started++
				}
			}
		}
	}
	if started == 0 {
		t.Fatal("no sample event started anything")
	}
}
