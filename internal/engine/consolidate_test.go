package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/state"
)

// flakyStarter fails the first n starts, as Step Functions does when it
// throttles.
type flakyStarter struct {
	recordingStarter
	mu    sync.Mutex
	fails int
}

func (s *flakyStarter) Start(ctx context.Context, rec *execution.Record, input any) error {
	s.mu.Lock()
	if s.fails > 0 {
		s.fails--
		s.mu.Unlock()
		return errors.New("ThrottlingException: rate exceeded")
	}
	s.mu.Unlock()
	return s.recordingStarter.Start(ctx, rec, input)
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func consolidatingEngine(t testing.TB, fails int) (*Engine, *flakyStarter, *fakeClock, state.Store) {
	e, _ := newEngine(t)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	st := &flakyStarter{recordingStarter: recordingStarter{started: map[string]any{}}, fails: fails}
	store := state.NewMemory(clock.now)
	e.Starter, e.Now, e.Log = st, clock.now, slog.New(slog.DiscardHandler)
	e.Consolidator = &dispatch.Consolidator{State: store, Now: clock.now}
	return e, st, clock, store
}

// A start that fails is given back: the delivery is forgotten (the event
// source's retry is not a duplicate), the guard's lease is released, and
// the group acts again at the next flush rather than after repeat_interval.
func TestFailedStartIsRetriedAtTheNextFlush(t *testing.T) {
	e, st, clock, _ := consolidatingEngine(t, 1)
	ctx := context.Background()
	alarm := diskAlarm("evt-1", "ALARM")
	alarm.Time = clock.t
	out := e.Handle(ctx, alarm) // free_disk_on_alarm acts at once (group_wait: 0s)
	if len(out) != 1 || out[0].Error == "" || !strings.Contains(out[0].Error, "ThrottlingException") {
		t.Fatalf("want the start failure reported: %+v", out)
	}
	retry := e.Handle(ctx, alarm)
	if len(retry) != 1 || retry[0].Duplicate {
		t.Fatalf("the retry of a failed delivery is not a duplicate: %+v", retry)
	}
	flushed, err := e.Flush(ctx)
	if err != nil || len(flushed) != 1 || flushed[0].Execution == "" || flushed[0].Error != "" {
		t.Fatalf("the group should act again at once: %+v %v", flushed, err)
	}
	if len(st.started) != 1 {
		t.Fatalf("%d started, want 1", len(st.started))
	}
	if err := e.Finished(ctx, flushed[0].Execution, true); err != nil {
		t.Fatal(err)
	}
}

// Without a consolidator (the rule tester, workflow runs) every match
// starts at once, named after the delivery.
func TestWithoutConsolidatorEveryMatchStarts(t *testing.T) {
	e, st := newEngine(t)
	out := e.Handle(context.Background(), diskAlarm("evt-9", "ALARM"))
	if len(out) != 1 || out[0].Execution != ExecutionName("linux.free_disk_on_alarm", "evt-9") || len(st.started) != 1 {
		t.Fatalf("%+v", out)
	}
	if err := e.Finished(context.Background(), out[0].Execution, true); err != nil {
		t.Fatal(err)
	}
}

// A silence set from Slack or the CLI holds the rule, with the reason.
func TestSilencedAlertIsHeld(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	_, err := e.Consolidator.Silences().Add(ctx, silenceFor(t, "alertname=disk-full"))
	if err != nil {
		t.Fatal(err)
	}
	out := e.Handle(ctx, diskAlarm("evt-1", "ALARM"))
	if len(out) != 1 || !strings.HasPrefix(out[0].Held, "silenced by") || len(st.started) != 0 {
		t.Fatalf("%+v", out)
	}
}

func silenceFor(t *testing.T, matchers ...string) silence.Silence {
	t.Helper()
	ms, err := alert.ParseMatchers(matchers)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return silence.Silence{Matchers: ms, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), CreatedBy: "alice", Comment: "maintenance"}
}
