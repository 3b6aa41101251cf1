package timer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

type recorder struct {
	mu  sync.Mutex
	got []trigger.Trigger
}

func (r *recorder) emit(t trigger.Trigger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, t)
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, t := range r.got {
		ids = append(ids, t.ID)
	}
	return ids
}

func TestFireDueKeepsPhaseAndCoalesces(t *testing.T) {
	clock := NewManualClock(base)
	var rec recorder
	s := NewScheduler(clock, rec.emit)
	every5 := mustTimer(t, trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5})
	hourly := cron(t, map[string]any{"minute": 0})
	if err := s.Add(every5); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(hourly); err != nil {
		t.Fatal(err)
	}
	if next, _ := s.NextFiring(); !next.Equal(base.Add(5 * time.Minute)) {
		t.Fatalf("first firing %v", next)
	}
	if n := s.FireDue(base.Add(4 * time.Minute)); n != 0 {
		t.Fatalf("fired %d before anything was due", n)
	}
	if n := s.FireDue(base.Add(5*time.Minute + time.Second)); n != 1 {
		t.Fatalf("fired %d at the first interval", n)
	}
	// Asleep for 2 hours: each timer fires once, not once per missed slot.
	late := base.Add(2*time.Hour + 6*time.Minute)
	if n := s.FireDue(late); n != 2 {
		t.Fatalf("fired %d after a long sleep, want 2 (coalesced)", n)
	}
	want := []string{"timer:test.rule:2026-11-25T10:22:30Z", "timer:test.rule:2026-11-25T10:27:30Z", "timer:test.rule:2026-11-25T11:00:00Z"}
	if got := rec.ids(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("ids = %v, want %v", got, want)
	}
	// The interval keeps its :x2:30/:x7:30 phase after catching up.
	if next, _ := s.NextFiring(); next.Format(time.RFC3339) != "2026-11-25T12:27:30Z" {
		t.Errorf("next after catch-up = %v", next)
	}
}

func TestRunWithManualClock(t *testing.T) {
	clock := NewManualClock(base)
	got := make(chan trigger.Trigger, 10)
	s := NewScheduler(clock, func(tr trigger.Trigger) { got <- tr })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	if err := s.Add(mustTimer(t, trigger.TypeIntervalTimer, map[string]any{"unit": "seconds", "delta": 30})); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		waitFor(t, func() bool { return clock.Waiters() > 0 })
		clock.Advance(30 * time.Second)
		select {
		case tr := <-got:
			if want := base.Add(time.Duration(i+1) * 30 * time.Second); !tr.Time.Equal(want) {
				t.Errorf("firing %d at %v, want %v", i+1, tr.Time, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("firing %d never arrived", i+1)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
}

// waitFor polls briefly for Run to reach its wait; real time here is
// microseconds, never the timer's period.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
