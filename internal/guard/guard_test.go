package guard

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/statetest"
)

var ctx = context.Background()

func newGuard() (*Guard, *statetest.Clock) {
	c := statetest.NewClock()
	return &Guard{State: state.NewMemory(c.Now), Now: c.Now}, c
}

// Only rate/breaker checks that the test is about are on.
var loose = Limits{RatePerTarget: -1, RatePerRule: -1, BreakerFailures: -1, BreakerRepeats: -1}

func TestOneRunPerTargetAndLeaseTTL(t *testing.T) {
	g, clock := newGuard()
	lim := loose
	lim.LeaseTTL = 10 * time.Minute
	l, v, err := g.Acquire(ctx, "linux.free_disk", "i-1", lim)
	if err != nil || !v.OK || l == nil {
		t.Fatalf("first acquire: %+v %v", v, err)
	}
	_, v, _ = g.Acquire(ctx, "linux.restart_service", "i-1", lim)
	if v.OK || !v.Later || !strings.Contains(v.Reason, "target busy: i-1 is being remediated by linux.free_disk") {
		t.Fatalf("second acquire on a busy target: %+v", v)
	}
	if _, v, _ := g.Acquire(ctx, "linux.free_disk", "i-2", lim); !v.OK {
		t.Fatalf("another target is not busy: %+v", v)
	}
	// The run crashed and never released: the lease expires.
	clock.Advance(10 * time.Minute)
	l2, v, _ := g.Acquire(ctx, "linux.free_disk", "i-1", lim)
	if !v.OK {
		t.Fatalf("after lease TTL: %+v", v)
	}
	// The stale holder's late release must not free the new holder's lease.
	if err := g.Release(ctx, *l, true); err != nil {
		t.Fatal(err)
	}
	if _, v, _ := g.Acquire(ctx, "x", "i-1", lim); v.OK {
		t.Fatal("stale release freed the new lease")
	}
	g.Release(ctx, *l2, true)
	if _, v, _ := g.Acquire(ctx, "x", "i-1", lim); !v.OK {
		t.Fatalf("release did not free the target: %+v", v)
	}
}

func TestConcurrentAcquireGrantsOne(t *testing.T) {
	g, _ := newGuard()
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, v, err := g.Acquire(ctx, "r", "i-1", loose)
			if err != nil {
				t.Error(err)
			}
			if v.OK {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != 1 {
		t.Fatalf("granted %d leases on one target, want 1", granted)
	}
}

func TestRateLimits(t *testing.T) {
	g, clock := newGuard()
	lim := loose
	lim.RatePerTarget, lim.RatePerRule, lim.RateWindow = 2, 3, 10*time.Minute
	run := func(target string) Verdict {
		l, v, err := g.Acquire(ctx, "r", target, lim)
		if err != nil {
			t.Fatal(err)
		}
		if v.OK {
			g.Release(ctx, *l, true)
		}
		return v
	}
	if !run("a").OK || !run("a").OK {
		t.Fatal("runs under the limit refused")
	}
	if v := run("a"); v.OK || v.Escalate || !v.Later || !strings.Contains(v.Reason, "rate limited: 2 runs on this target") {
		t.Fatalf("third run on a: %+v", v)
	}
	if !run("b").OK {
		t.Fatal("per-target limit leaked to another target")
	}
	if v := run("c"); v.OK || !v.Later || !strings.Contains(v.Reason, "runs of this rule") {
		t.Fatalf("fourth run of the rule: %+v", v)
	}
	// The refused rule-level run left no trace on c and freed its lease.
	if b, _ := g.Status(ctx, "r", "c", lim); b.Runs != 0 {
		t.Fatalf("refused run recorded on c: %+v", b)
	}
	clock.Advance(10 * time.Minute)
	if !run("a").OK {
		t.Fatal("window did not slide")
	}
}

func TestBreakerOpensOnFailuresAndHalfOpens(t *testing.T) {
	g, clock := newGuard()
	lim := loose
	lim.BreakerFailures, lim.BreakerWindow, lim.BreakerCooldown = 2, time.Hour, 30*time.Minute
	fail := func() Verdict {
		l, v, _ := g.Acquire(ctx, "r", "i-1", lim)
		if v.OK {
			if err := g.Release(ctx, *l, false); err != nil {
				t.Fatal(err)
			}
		}
		return v
	}
	fail()
	clock.Advance(time.Minute)
	fail()
	v := fail()
	if v.OK || !v.Escalate || v.Later || !strings.Contains(v.Reason, "circuit open") || !strings.Contains(v.Reason, "2 failed remediations") {
		t.Fatalf("after 2 failures: %+v", v)
	}
	if b, _ := g.Status(ctx, "r", "i-1", lim); !b.Open {
		t.Fatalf("status = %+v", b)
	}
	// Cooldown over: one trial. It fails: open again at once.
	clock.Advance(30 * time.Minute)
	if v := fail(); !v.OK {
		t.Fatalf("trial after cooldown refused: %+v", v)
	}
	if v := fail(); v.OK || !strings.Contains(v.Reason, "trial run after the cooldown failed") {
		t.Fatalf("after failed trial: %+v", v)
	}
	// Next trial succeeds: closed, and one failure no longer opens it.
	clock.Advance(30 * time.Minute)
	l, v, _ := g.Acquire(ctx, "r", "i-1", lim)
	if !v.OK {
		t.Fatalf("second trial refused: %+v", v)
	}
	g.Release(ctx, *l, true)
	if v := fail(); !v.OK {
		t.Fatalf("closed breaker refused: %+v", v)
	}
	if v := fail(); !v.OK {
		t.Fatalf("one failure after closing opened it: %+v", v)
	}
}

func TestBreakerOpensOnRepeats(t *testing.T) {
	g, clock := newGuard()
	lim := loose
	lim.BreakerRepeats = 3
	for i := 0; i < 3; i++ {
		l, v, _ := g.Acquire(ctx, "r", "i-1", lim)
		if !v.OK {
			t.Fatalf("run %d refused: %+v", i, v)
		}
		g.Release(ctx, *l, true) // "succeeded", yet the alert keeps coming back
		clock.Advance(5 * time.Minute)
	}
	_, v, _ := g.Acquire(ctx, "r", "i-1", lim)
	if v.OK || !v.Escalate || !strings.Contains(v.Reason, "3 remediations in 1h0m0s did not stick") {
		t.Fatalf("fourth run: %+v", v)
	}
}

func TestDefaultsAndBadInput(t *testing.T) {
	if got := (Limits{}).WithDefaults(); got != DefaultLimits {
		t.Fatalf("defaults = %+v", got)
	}
	g, _ := newGuard()
	if _, _, err := g.Acquire(ctx, "", "i-1", Limits{}); err == nil {
		t.Fatal("empty rule accepted")
	}
}

// A cancelled run frees the target and does not count against the rate
// limit or the breaker: it never ran.
func TestCancelForgetsTheRun(t *testing.T) {
	g, _ := newGuard()
	lim := Limits{RatePerTarget: 1, RatePerRule: 1, BreakerFailures: -1, BreakerRepeats: -1}
	for i := 0; i < 3; i++ {
		l, v, err := g.Acquire(ctx, "chat", "i-1", lim)
		if err != nil || !v.OK {
			t.Fatalf("acquire %d after cancels: %+v %v", i, v, err)
		}
		if err := g.Cancel(ctx, *l); err != nil {
			t.Fatal(err)
		}
	}
	b, err := g.Status(ctx, "chat", "i-1", lim)
	if err != nil || b.Runs != 0 {
		t.Fatalf("cancelled runs are counted: %+v %v", b, err)
	}
	l, _, _ := g.Acquire(ctx, "chat", "i-1", lim)
	g.Release(ctx, *l, true)
	if _, v, _ := g.Acquire(ctx, "chat", "i-1", lim); v.OK || !strings.Contains(v.Reason, "rate limited") {
		t.Fatalf("a run that ran still counts: %+v", v)
	}
}
