package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/state"
)

// readOnlyStore fails every write, as a full disk or a broken table does.
type readOnlyStore struct{ state.Store }

var errDiskFull = errors.New("no space left on device")

func (readOnlyStore) Put(context.Context, state.Item, state.Condition) (int64, error) {
	return 0, errDiskFull
}

// A delivery the consolidation state could not record is marked Retry
// (intake answers 503); before, it was a plain error answered 202.
func TestUnrecordedDeliveryAsksForRetry(t *testing.T) {
	e, _, _, store := consolidatingEngine(t, 0)
	e.Consolidator.State = readOnlyStore{store}
	out := e.Handle(context.Background(), diskAlarm("evt-1", "ALARM"))
	if len(out) != 1 || !out[0].Retry || !strings.Contains(out[0].Error, "no space left") {
		t.Fatalf("outcome = %+v", out)
	}
	// An alert no rule matches is not recorded either: retry it too.
	resolved := diskAlarm("evt-2", "OK")
	if out := e.Handle(context.Background(), resolved); len(out) != 1 || !out[0].Retry {
		t.Fatalf("unmatched alert outcome = %+v", out)
	}
}

// A start the starter could not record is Retry too; a configuration
// error (an unknown action) is not: sending it again would not help.
func TestStartFailureAsksForRetry(t *testing.T) {
	e, _, _, _ := consolidatingEngine(t, 1) // the first start fails
	out := e.Handle(context.Background(), diskAlarm("evt-1", "ALARM"))
	if len(out) != 1 || !out[0].Retry {
		t.Fatalf("outcome = %+v", out)
	}
	_, _, err := e.StartAction(context.Background(), Run{Name: "x", Action: "nope.nothing"})
	if err == nil || errors.Is(err, ErrNotRecorded) {
		t.Fatalf("unknown action: %v", err)
	}
}

// An interrupted execution is escalated once however often recovery runs,
// and its lease released: the next alert on the target may act.
func TestInterruptedEscalatesOnceAndFreesTheTarget(t *testing.T) {
	e, st, clock, store := consolidatingEngine(t, 0)
	ctx := context.Background()
	alarm := diskAlarm("evt-1", "ALARM")
	alarm.Time = clock.t
	out := e.Handle(ctx, alarm)
	if len(out) != 1 || out[0].Execution == "" {
		t.Fatalf("not started: %+v", out)
	}
	rec := &execution.Record{ID: out[0].Execution, Rule: out[0].Rule, Action: "linux.free_disk", Trigger: alarm}
	esc1, err := e.Interrupted(ctx, rec, "interrupted: medic serve stopped during state Remediate")
	if err != nil || esc1 == "" {
		t.Fatalf("escalation %q, %v", esc1, err)
	}
	esc2, err := e.Interrupted(ctx, rec, "interrupted: medic serve stopped during state Remediate")
	if err != nil || esc2 != esc1 {
		t.Fatalf("second recovery: %q, %v", esc2, err)
	}
	escalations := 0
	for id := range st.started {
		if strings.HasPrefix(id, "escalate-interrupted") {
			escalations++
		}
	}
	if escalations != 1 {
		t.Fatalf("escalations started: %d", escalations)
	}
	// The target's lease is gone: the next incident may act.
	leases, _ := store.Query(ctx, "lease", "")
	if len(leases) != 0 {
		t.Fatalf("lease still held after recovery: %+v", leases)
	}
}
