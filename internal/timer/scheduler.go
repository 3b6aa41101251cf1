package timer

import (
	"context"

	"sync"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// Clock is the scheduler's source of time, so tests can drive it.
type Clock interface {
	Now() time.Time
	// After delivers once, when d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Scheduler fires timers in process, as `medic serve` needs: each firing
// is passed to emit as a trigger. A firing missed while the process was
// busy or asleep is coalesced: a timer that fell behind fires once, then
// resumes its schedule from the present, as st2 (APScheduler, coalesce)
// does.
type Scheduler struct {
	clock Clock
	emit  func(trigger.Trigger)

	mu      sync.Mutex
	entries []*entry
	changed chan struct{} // Add wakes Run so a new timer's time is seen
}

type entry struct {
	timer *Timer
	next  time.Time
}

// NewScheduler makes a scheduler; emit is called from Run's goroutine (or
// FireDue's caller), one trigger at a time.
func NewScheduler(clock Clock, emit func(trigger.Trigger)) *Scheduler {
	return &Scheduler{clock: clock, emit: emit, changed: make(chan struct{}, 1)}
}

// Add schedules t from now: an IntervalTimer first fires one interval
// from now, a CronTimer at its next matching time.
func (s *Scheduler) Add(t *Timer) error {
	next, ok := t.Next(s.clock.Now())
	if !ok {
		return &Error{Rule: t.Rule, Reason: "never fires again"}
	}
	s.mu.Lock()
	s.entries = append(s.entries, &entry{timer: t, next: next})
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

// NextFiring is the earliest scheduled firing; ok is false with no timers.
func (s *Scheduler) NextFiring() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, e := range s.entries {
		if !e.next.IsZero() && (first.IsZero() || e.next.Before(first)) {
			first = e.next
		}
	}
	return first, !first.IsZero()
}

// FireDue emits a trigger for every timer due at or before now and
// schedules each one's next firing; it returns how many fired. Triggers
// carry the scheduled time, not now, so ids are stable.
func (s *Scheduler) FireDue(now time.Time) int {
	s.mu.Lock()
	var due []trigger.Trigger
	for _, e := range s.entries {
		if e.next.IsZero() || e.next.After(now) {
			continue
		}
		due = append(due, e.timer.Trigger(e.next))
		e.next = e.following(now)
	}
	s.mu.Unlock()
	for _, t := range due {
		s.emit(t)
	}
	return len(due)
}

// following is the first firing after now on the entry's own schedule:
// interval timers keep their phase instead of drifting by the delay.
func (e *entry) following(now time.Time) time.Time {
	next, ok := e.timer.Next(e.next)
	if !ok {
		return time.Time{}
	}
	if !next.After(now) {
		if every := e.timer.Interval(); every > 0 {
			missed := now.Sub(next)/every + 1
			next = next.Add(missed * every)
		} else if next, ok = e.timer.Next(now); !ok {
			return time.Time{}
		}
	}
	return next
}

// Run fires timers until ctx ends, waiting on the clock in between.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		var wait <-chan time.Time
		if next, ok := s.NextFiring(); ok {
			wait = s.clock.After(max(next.Sub(s.clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.changed:
		case <-wait:
			s.FireDue(s.clock.Now())
		}
	}
}

// ManualClock is a Clock that moves only when told to, for tests of
// anything that runs a Scheduler.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewManualClock starts at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ManualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock on and wakes every After whose time has come.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// Waiters is how many After calls are pending: a test advances the clock
// once Run is waiting.
func (c *ManualClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
