package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/state"
)

// RunAdmission is what AdmitRun needs to admit a run no alert asked for
// (a chat command, `medic run`).
type RunAdmission struct {
	// Key names the run's own rate limit and breaker (e.g.
	// "action:linux.restart_service"): runs of one action on one target
	// are counted together, whoever asks.
	Key    string
	Limits guard.Limits
	// Targets the run acts on; each is leased, so the run waits for no
	// one and no rule acts on them while it runs.
	Targets []string
	// Rules that run the same action: an open breaker of any of them on a
	// target refuses the run too, so chat cannot go round a breaker that
	// stopped automation there.
	Rules []Config
}

// AdmitRun takes a lease on every target of r, or none. A refusal (a
// target busy, a rate limit, an open breaker) is a Decision with Act false
// and the guard's reason; an error means the state could not be read.
// When granted, bind the leases to the execution (BindAll) before starting
// it, and Cancel them if it does not start.
func (c *Consolidator) AdmitRun(ctx context.Context, r RunAdmission) ([]guard.Lease, Decision, error) {
	if c.State == nil {
		return nil, Decision{}, errNoState
	}
	if r.Key == "" || len(r.Targets) == 0 {
		return nil, Decision{}, fmt.Errorf("consolidate: a run needs a key and at least one target (key %q, %d targets)", r.Key, len(r.Targets))
	}
	if d, err := c.openRuleBreaker(ctx, r); err != nil || d.Reason != "" {
		return nil, d, err
	}
	var leases []guard.Lease
	for _, target := range r.Targets {
		lease, v, err := c.guard().Acquire(ctx, r.Key, target, r.Limits)
		if err != nil || !v.OK {
			cerr := c.Cancel(ctx, leases)
			return nil, Decision{Target: target, Reason: v.Reason, Escalate: v.Escalate, later: v.Later}, errors.Join(err, cerr)
		}
		leases = append(leases, *lease)
	}
	return leases, Decision{Act: true, Target: r.Targets[0], Reason: fmt.Sprintf("act on %v", r.Targets)}, nil
}

// openRuleBreaker returns a refusal naming the first rule whose breaker is
// open on one of the run's targets.
func (c *Consolidator) openRuleBreaker(ctx context.Context, r RunAdmission) (Decision, error) {
	for _, cfg := range r.Rules {
		for _, target := range r.Targets {
			b, err := c.guard().Status(ctx, cfg.Rule, target, cfg.WithDefaults().Guard)
			if err != nil {
				return Decision{}, err
			}
			if b.Open {
				return Decision{Target: target, Escalate: true, Reason: fmt.Sprintf("circuit open until %s for rule %s on %s (%s)",
					b.OpenUntil.UTC().Format(time.RFC3339), cfg.Rule, target, b.Why)}, nil
			}
		}
	}
	return Decision{}, nil
}

// BindAll is Bind for a run holding several leases: Finish releases them
// all when the execution ends.
func (c *Consolidator) BindAll(ctx context.Context, execution string, leases []guard.Lease) error {
	if execution == "" || len(leases) == 0 {
		return fmt.Errorf("consolidate: bind: execution name and leases are required (%q, %d leases)", execution, len(leases))
	}
	data, err := json.Marshal(leases)
	if err != nil {
		return err
	}
	expires := leases[0].ExpiresAt
	for _, l := range leases {
		expires = later(expires, l.ExpiresAt)
	}
	_, err = c.State.Put(ctx, state.Item{Key: state.Key{PK: pkExecution, SK: execution}, Value: data,
		ExpiresAt: expires.Add(time.Hour)}, state.Always())
	return err
}

// Bound reports whether leases are bound to execution: it was admitted
// and has not ended. A retried request for the same run finds it so.
func (c *Consolidator) Bound(ctx context.Context, execution string) (bool, error) {
	_, ok, err := c.State.Get(ctx, state.Key{PK: pkExecution, SK: execution})
	return ok, err
}

// Cancel gives back leases whose run never started: they count neither
// as runs nor as failures.
func (c *Consolidator) Cancel(ctx context.Context, leases []guard.Lease) error {
	var err error
	for _, l := range leases {
		err = errors.Join(err, c.guard().Cancel(ctx, l))
	}
	return err
}

// Unbind forgets the leases bound to execution, without releasing them
// (the caller cancels them).
func (c *Consolidator) Unbind(ctx context.Context, execution string) error {
	return c.State.Delete(ctx, state.Key{PK: pkExecution, SK: execution})
}

// decodeLeases reads a binding: one lease (Bind) or a list (BindAll).
func decodeLeases(data []byte) ([]guard.Lease, error) {
	if len(data) > 0 && data[0] == '[' {
		var leases []guard.Lease
		return leases, json.Unmarshal(data, &leases)
	}
	var l guard.Lease
	return []guard.Lease{l}, json.Unmarshal(data, &l)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
