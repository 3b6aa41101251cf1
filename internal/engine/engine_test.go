package engine

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

type recordingStarter struct {
	mu      sync.Mutex
	started map[string]any
}

func (s *recordingStarter) Start(_ context.Context, rec *execution.Record, input any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.started[rec.ID]; ok {
		return execution.ErrExists
	}
	s.started[rec.ID] = input
	return nil
}

type noKV struct{}

func (noKV) Get(string) (string, bool, error) { return "", false, nil }

func newEngine(t testing.TB) (*Engine, *recordingStarter) {
	packs, err := pack.LoadDir("../../packs")
	if err != nil {
		t.Fatal(err)
	}
	st := &recordingStarter{started: map[string]any{}}
	return &Engine{Rules: rule.NewIndex(packs.Rules()), Packs: packs, KV: noKV{}, Starter: st}, st
}

func diskAlarm(id, state string) trigger.Trigger {
	return trigger.Trigger{ID: id, Type: trigger.TypeCloudWatchAlarm, Source: "eventbridge", Payload: map[string]any{
		"alarm_name": "disk-full", "state": state, "metric_name": "disk_used_percent", "instance_id": "i-0abc",
		"dimensions": map[string]any{"path": "/var/tmp/uploads", "host": "web-1"},
	}}
}

func TestMatchingAlarmStartsOneExecutionPerDelivery(t *testing.T) {
	e, st := newEngine(t)
	out := e.Handle(context.Background(), diskAlarm("evt-1", "ALARM"))
	if len(out) != 1 || out[0].Error != "" || out[0].Duplicate || out[0].Rule != "linux.free_disk_on_alarm" {
		t.Fatalf("outcomes %+v", out)
	}
	input := st.started[out[0].Execution].(map[string]any)
	if input["target"] != "i-0abc" {
		t.Fatalf("target from instance id: %v", input["target"])
	}
	again := e.Handle(context.Background(), diskAlarm("evt-1", "ALARM"))
	if len(again) != 1 || !again[0].Duplicate || again[0].Execution != out[0].Execution {
		t.Fatalf("redelivery: %+v", again)
	}
	if len(st.started) != 1 {
		t.Fatalf("%d starts", len(st.started))
	}
}

func TestNonMatchingAlarmStartsNothing(t *testing.T) {
	e, st := newEngine(t)
	if out := e.Handle(context.Background(), diskAlarm("evt-2", "OK")); len(out) != 0 {
		t.Fatalf("outcomes %+v", out)
	}
	if len(st.started) != 0 {
		t.Fatal("started on OK")
	}
}

func TestExecutionNameIsValidForStepFunctions(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	long := "pack.a_very_long_rule_name_that_goes_on_and_on_and_on_and_on_and_on_forever"
	for _, ref := range []string{"linux.free_disk_on_alarm", long, "weird pack.rule with spaces/and:colons"} {
		n := ExecutionName(ref, "id-1")
		if !valid.MatchString(n) {
			t.Errorf("%q → %q is not a valid execution name", ref, n)
		}
		if n == ExecutionName(ref, "id-2") {
			t.Errorf("different deliveries share a name")
		}
		if n != ExecutionName(ref, "id-1") {
			t.Errorf("name not deterministic")
		}
	}
}

func TestDisabledActionNeverRuns(t *testing.T) {
	e, st := newEngine(t)
	a, _ := e.Packs.Action("linux.free_disk")
	a.Enabled = false
	out := e.Handle(context.Background(), diskAlarm("evt-3", "ALARM"))
	if len(out) != 1 || !strings.Contains(out[0].Error, "disabled") || len(st.started) != 0 {
		t.Fatalf("outcomes %+v, started %d", out, len(st.started))
	}
}
