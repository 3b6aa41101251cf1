package asl

import (
	"context"
	"sync"
	"time"
)

// Clock is the interpreter's source of time: Wait states, retry backoff and
// timeouts all go through it, so tests can run them instantly.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// VirtualClock is a Clock whose Sleep advances its time instantly: Wait
// states and retry backoff take no real time. Concurrent sleepers (Map,
// Parallel) each add their own duration, so virtual time can run ahead of
// what a real execution would show; use it for behaviour, not durations.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock starts a virtual clock at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now implements Clock.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep implements Clock: it advances the time by d and returns at once.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Advance moves the clock forward by d.
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Instant reports that sleeping costs no real time; see timeoutGrace.
func (c *VirtualClock) Instant() bool { return true }

// instantClock is implemented by clocks whose Sleep returns immediately.
type instantClock interface{ Instant() bool }

// timeoutGrace is the real time a task gets to answer before an instant
// clock lets its timeout fire. Without it, a virtual-time timeout would
// always beat even a task that answers at once.
const timeoutGrace = 100 * time.Millisecond

// expiry returns a channel closed once d of clock time has passed; stop
// releases it early.
func expiry(ctx context.Context, clock Clock, d time.Duration) (fired <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		if ic, ok := clock.(instantClock); ok && ic.Instant() {
			t := time.NewTimer(timeoutGrace)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		if clock.Sleep(ctx, d) == nil {
			close(ch)
		}
	}()
	return ch, cancel
}
