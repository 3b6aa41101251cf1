// Package guard keeps automatic remediation from making things worse:
// one remediation per target at a time (a lease with a TTL, so a crashed
// run does not lock the target forever), a rate limit per rule and target
// and per rule, and a circuit breaker per rule and target that opens after
// repeated failures or repeated remediations in a window. An open breaker
// stops automatic action and says "escalate to a human"; after a cooldown
// it lets one trial run through (half-open), and closes again if it works.
package guard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/state"
)

// Limits configure one rule. Zero fields take the defaults; a negative
// count disables that check.
type Limits struct {
	// LeaseTTL bounds how long a target stays busy if a run never reports
	// its end.
	LeaseTTL time.Duration `json:"lease_ttl,omitempty"`
	// RatePerTarget runs of the rule on one target per RateWindow.
	RatePerTarget int `json:"rate_per_target,omitempty"`
	// RatePerRule runs of the rule on all targets per RateWindow.
	RatePerRule int           `json:"rate_per_rule,omitempty"`
	RateWindow  time.Duration `json:"rate_window,omitempty"`
	// The breaker opens after BreakerFailures failed runs, or when a run
	// would be the (BreakerRepeats+1)th in BreakerWindow: the remediation
	// keeps not sticking.
	BreakerFailures int           `json:"breaker_failures,omitempty"`
	BreakerRepeats  int           `json:"breaker_repeats,omitempty"`
	BreakerWindow   time.Duration `json:"breaker_window,omitempty"`
	BreakerCooldown time.Duration `json:"breaker_cooldown,omitempty"`
}

// DefaultLimits throttle bursts quietly (3 runs per target per 10
// minutes) and escalate persistent trouble (3 failures or 6 runs per hour).
var DefaultLimits = Limits{
	LeaseTTL:        30 * time.Minute,
	RatePerTarget:   3,
	RatePerRule:     30,
	RateWindow:      10 * time.Minute,
	BreakerFailures: 3,
	BreakerRepeats:  6,
	BreakerWindow:   time.Hour,
	BreakerCooldown: time.Hour,
}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	pickD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	pickN := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	pickD(&l.LeaseTTL, d.LeaseTTL)
	pickD(&l.RateWindow, d.RateWindow)
	pickD(&l.BreakerWindow, d.BreakerWindow)
	pickD(&l.BreakerCooldown, d.BreakerCooldown)
	pickN(&l.RatePerTarget, d.RatePerTarget)
	pickN(&l.RatePerRule, d.RatePerRule)
	pickN(&l.BreakerFailures, d.BreakerFailures)
	pickN(&l.BreakerRepeats, d.BreakerRepeats)
	return l
}

// Verdict is the guard's answer.
type Verdict struct {
	OK       bool   `json:"ok"`
	Reason   string `json:"reason,omitempty"`
	Escalate bool   `json:"escalate,omitempty"`
	// Later: the refusal only lasts a while (the target is busy, a rate
	// limit's window is full); the same run may be granted later.
	Later bool `json:"later,omitempty"`
}

// Lease is a granted run. Pass it to Release when the run ends.
type Lease struct {
	ID        string    `json:"id"`
	Rule      string    `json:"rule"`
	Target    string    `json:"target"`
	Acquired  time.Time `json:"acquired"`
	ExpiresAt time.Time `json:"expires_at"`
	// Limits travel with the lease so whoever releases it (another
	// process, a Lambda reacting to the execution's end) applies the same
	// breaker thresholds.
	Limits Limits `json:"limits"`
}

// Guard decides with state kept in a state.Store, so every Lambda and the
// local process share one view.
type Guard struct {
	State state.Store
	Now   func() time.Time
}

func (g *Guard) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

const (
	leasePK    = "lease"
	runsPK     = "runs"
	allTargets = "*"
)

// Outcomes of a run in the log.
const (
	running   = "running"
	succeeded = "succeeded"
	failed    = "failed"
)

type run struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
}

// runLog is the history of one rule on one target (or on all targets):
// the sliding windows and the breaker state live in one item so one
// conditional write updates them together.
type runLog struct {
	Runs      []run     `json:"runs"`
	OpenUntil time.Time `json:"open_until,omitempty"`
	// HalfOpen: the breaker has opened before; the next run after the
	// cooldown is a trial whose failure reopens it at once.
	HalfOpen bool   `json:"half_open,omitempty"`
	Why      string `json:"why,omitempty"`
}

func runsKey(rule, target string) state.Key {
	return state.Key{PK: runsPK, SK: rule + "#" + target}
}

// Acquire asks to run rule on target. When the verdict is OK the caller
// owns the lease and must Release it when the run ends.
func (g *Guard) Acquire(ctx context.Context, rule, target string, lim Limits) (*Lease, Verdict, error) {
	if rule == "" || target == "" {
		return nil, Verdict{}, fmt.Errorf("guard: rule and target are required (rule %q, target %q)", rule, target)
	}
	lim = lim.WithDefaults()
	now := g.now()
	lease, busy, err := g.takeLease(ctx, rule, target, lim, now)
	if err != nil || busy != nil {
		return nil, verdictOr(busy), err
	}
	v, err := g.recordRun(ctx, runsKey(rule, target), lease.ID, now, lim, true)
	if err == nil && v.OK {
		v, err = g.recordRun(ctx, runsKey(rule, allTargets), lease.ID+"@"+target, now, lim, false)
		if err == nil && !v.OK {
			err = g.forgetRun(ctx, runsKey(rule, target), lease.ID)
		}
	}
	if err != nil || !v.OK {
		if derr := g.dropLease(ctx, lease); err == nil {
			err = derr
		}
		return nil, v, err
	}
	return lease, v, nil
}

func verdictOr(v *Verdict) Verdict {
	if v == nil {
		return Verdict{}
	}
	return *v
}

func (g *Guard) takeLease(ctx context.Context, rule, target string, lim Limits, now time.Time) (*Lease, *Verdict, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, err
	}
	l := &Lease{ID: hex.EncodeToString(b[:]), Rule: rule, Target: target, Acquired: now, ExpiresAt: now.Add(lim.LeaseTTL), Limits: lim}
	data, _ := json.Marshal(l)
	k := state.Key{PK: leasePK, SK: target}
	_, err := g.State.Put(ctx, state.Item{Key: k, Value: data, ExpiresAt: l.ExpiresAt}, state.IfAbsent())
	if errors.Is(err, state.ErrConditionFailed) {
		reason := "target busy: " + target + " has a remediation running"
		if cur, ok, gerr := g.State.Get(ctx, k); gerr == nil && ok {
			var holder Lease
			if json.Unmarshal(cur.Value, &holder) == nil {
				reason = fmt.Sprintf("target busy: %s is being remediated by %s since %s", target, holder.Rule, holder.Acquired.Format(time.RFC3339))
			}
		}
		return nil, &Verdict{Reason: reason, Later: true}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return l, nil, nil
}

// dropLease ends the lease only if it is still ours: a write that expires
// it at once, conditional on the version we read.
func (g *Guard) dropLease(ctx context.Context, l *Lease) error {
	k := state.Key{PK: leasePK, SK: l.Target}
	cur, ok, err := g.State.Get(ctx, k)
	if err != nil || !ok {
		return err
	}
	var holder Lease
	if json.Unmarshal(cur.Value, &holder) != nil || holder.ID != l.ID {
		return nil // expired and taken over by another run
	}
	cur.ExpiresAt = g.now()
	_, err = g.State.Put(ctx, cur, state.IfVersion(cur.Version))
	if errors.Is(err, state.ErrConditionFailed) {
		return nil
	}
	return err
}

// recordRun applies the checks of one run log and appends the run when
// they pass, in one conditional write.
func (g *Guard) recordRun(ctx context.Context, k state.Key, id string, now time.Time, lim Limits, perTarget bool) (Verdict, error) {
	verdict := Verdict{OK: true}
	keep := maxDur(lim.RateWindow, lim.BreakerWindow)
	_, err := state.Update(ctx, g.State, k, func(it *state.Item, ok bool) (bool, error) {
		log, err := decodeLog(it, ok)
		if err != nil {
			return false, err
		}
		log.prune(now.Add(-keep))
		verdict = Verdict{OK: true}
		if perTarget {
			verdict = log.check(now, lim)
		} else if lim.RatePerRule > 0 && log.count(now.Add(-lim.RateWindow), "") >= lim.RatePerRule {
			verdict = Verdict{Later: true, Reason: fmt.Sprintf("rate limited: %d runs of this rule in %s (limit %d)", lim.RatePerRule, lim.RateWindow, lim.RatePerRule)}
		}
		if verdict.OK {
			log.Runs = append(log.Runs, run{ID: id, At: now, Outcome: running})
		} else if !verdict.Escalate {
			return false, nil // nothing changed
		}
		return true, log.encode(it, now.Add(keep+lim.BreakerCooldown))
	})
	return verdict, err
}

// check is the breaker and per-target rate limit; it may open the breaker.
func (l *runLog) check(now time.Time, lim Limits) Verdict {
	if now.Before(l.OpenUntil) {
		return Verdict{Escalate: true, Reason: fmt.Sprintf("circuit open until %s (%s) → escalate to a human", l.OpenUntil.Format(time.RFC3339), l.Why)}
	}
	if lim.BreakerRepeats > 0 {
		if n := l.count(now.Add(-lim.BreakerWindow), ""); n >= lim.BreakerRepeats {
			l.open(now, lim, fmt.Sprintf("%d remediations in %s did not stick", n, lim.BreakerWindow))
			return Verdict{Escalate: true, Reason: "circuit opened: " + l.Why + " → escalate to a human"}
		}
	}
	if lim.RatePerTarget > 0 {
		if n := l.count(now.Add(-lim.RateWindow), ""); n >= lim.RatePerTarget {
			return Verdict{Later: true, Reason: fmt.Sprintf("rate limited: %d runs on this target in %s (limit %d)", n, lim.RateWindow, lim.RatePerTarget)}
		}
	}
	return Verdict{OK: true}
}

func (l *runLog) open(now time.Time, lim Limits, why string) {
	l.OpenUntil = now.Add(lim.BreakerCooldown)
	l.HalfOpen = true
	l.Why = why
	l.Runs = nil // after the cooldown, count afresh
}

// count runs since the instant, of one outcome ("" for all).
func (l *runLog) count(since time.Time, outcome string) int {
	n := 0
	for _, r := range l.Runs {
		if r.At.After(since) && (outcome == "" || r.Outcome == outcome) {
			n++
		}
	}
	return n
}

func (l *runLog) prune(before time.Time) {
	kept := l.Runs[:0]
	for _, r := range l.Runs {
		if !r.At.Before(before) {
			kept = append(kept, r)
		}
	}
	l.Runs = kept
}

func decodeLog(it *state.Item, ok bool) (*runLog, error) {
	log := &runLog{}
	if ok && len(it.Value) > 0 {
		if err := json.Unmarshal(it.Value, log); err != nil {
			return nil, fmt.Errorf("guard: run log %s is corrupt: %w", it.Key, err)
		}
	}
	return log, nil
}

func (l *runLog) encode(it *state.Item, expires time.Time) error {
	data, err := json.Marshal(l)
	it.Value, it.ExpiresAt = data, expires
	return err
}

// forgetRun removes a run appended by a check that a later check refused.
func (g *Guard) forgetRun(ctx context.Context, k state.Key, id string) error {
	_, err := state.Update(ctx, g.State, k, func(it *state.Item, ok bool) (bool, error) {
		log, err := decodeLog(it, ok)
		if err != nil || !ok {
			return false, err
		}
		kept := log.Runs[:0]
		for _, r := range log.Runs {
			if r.ID != id {
				kept = append(kept, r)
			}
		}
		log.Runs = kept
		return true, log.encode(it, it.ExpiresAt)
	})
	return err
}

// Release ends a run: it records the outcome (a failure may open the
// breaker) and frees the target.
func (g *Guard) Release(ctx context.Context, l Lease, success bool) error {
	lim := l.Limits.WithDefaults()
	now := g.now()
	outcome := failed
	if success {
		outcome = succeeded
	}
	_, err := state.Update(ctx, g.State, runsKey(l.Rule, l.Target), func(it *state.Item, ok bool) (bool, error) {
		log, err := decodeLog(it, ok)
		if err != nil {
			return false, err
		}
		for i := range log.Runs {
			if log.Runs[i].ID == l.ID {
				log.Runs[i].Outcome = outcome
			}
		}
		switch {
		case !success && log.HalfOpen && !now.Before(log.OpenUntil):
			log.open(now, lim, "the trial run after the cooldown failed")
		case !success && lim.BreakerFailures > 0 && log.count(now.Add(-lim.BreakerWindow), failed) >= lim.BreakerFailures:
			log.open(now, lim, fmt.Sprintf("%d failed remediations in %s", lim.BreakerFailures, lim.BreakerWindow))
		case success && !now.Before(log.OpenUntil):
			log.HalfOpen = false
		}
		return true, log.encode(it, now.Add(maxDur(lim.RateWindow, lim.BreakerWindow)+lim.BreakerCooldown))
	})
	if err != nil {
		return err
	}
	return g.dropLease(ctx, &l)
}

// Breaker is the state of one rule's breaker on one target, for display.
type Breaker struct {
	Open      bool      `json:"open"`
	OpenUntil time.Time `json:"open_until,omitempty"`
	Why       string    `json:"why,omitempty"`
	Runs      int       `json:"runs"`
	Failures  int       `json:"failures"`
}

// Status reports the breaker of rule on target.
func (g *Guard) Status(ctx context.Context, rule, target string, lim Limits) (Breaker, error) {
	lim = lim.WithDefaults()
	it, ok, err := g.State.Get(ctx, runsKey(rule, target))
	if err != nil {
		return Breaker{}, err
	}
	log, err := decodeLog(&it, ok)
	if err != nil {
		return Breaker{}, err
	}
	now := g.now()
	since := now.Add(-lim.BreakerWindow)
	return Breaker{
		Open: now.Before(log.OpenUntil), OpenUntil: log.OpenUntil, Why: log.Why,
		Runs: log.count(since, ""), Failures: log.count(since, failed),
	}, nil
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// Cancel undoes an Acquire whose run never started (refused by a later
// check, or already running under the same name): the run is taken out of
// the rate and breaker windows, no outcome is recorded, and the target is
// freed if the lease is still ours.
func (g *Guard) Cancel(ctx context.Context, l Lease) error {
	err := g.forgetRun(ctx, runsKey(l.Rule, l.Target), l.ID)
	err = errors.Join(err, g.forgetRun(ctx, runsKey(l.Rule, allTargets), l.ID+"@"+l.Target))
	return errors.Join(err, g.dropLease(ctx, &l))
}
