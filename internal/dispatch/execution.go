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

const pkExecution = "execution"

// Bind remembers which lease an execution holds, so whoever sees the
// execution end (the local OnDone hook, a Lambda on Step Functions'
// "Execution Status Change" event) can Finish it by name alone.
func (c *Consolidator) Bind(ctx context.Context, execution string, lease guard.Lease) error {
	if execution == "" {
		return fmt.Errorf("consolidate: bind: empty execution name")
	}
	data, err := json.Marshal(lease)
	if err != nil {
		return err
	}
	_, err = c.State.Put(ctx, state.Item{Key: state.Key{PK: pkExecution, SK: execution}, Value: data,
		ExpiresAt: lease.ExpiresAt.Add(time.Hour)}, state.Always())
	return err
}

// Finish releases the lease bound to execution with its outcome. An
// execution without a bound lease (started before consolidation, or
// already finished) is not an error: Finish is safe to call twice.
func (c *Consolidator) Finish(ctx context.Context, execution string, success bool) error {
	_, err := c.Ended(ctx, execution, success)
	return err
}

// Ended is Finish that also reports whether a lease was bound to the
// execution: whether it was a remediation consolidation granted (not a
// notification or a run asked for in chat).
func (c *Consolidator) Ended(ctx context.Context, execution string, success bool) (bound bool, err error) {
	k := state.Key{PK: pkExecution, SK: execution}
	it, ok, err := c.State.Get(ctx, k)
	if err != nil || !ok {
		return false, err
	}
	leases, err := decodeLeases(it.Value)
	if err != nil {
		return true, fmt.Errorf("consolidate: execution %s: stored lease is corrupt: %w", execution, err)
	}
	for _, lease := range leases {
		if err := c.Release(ctx, lease, success); err != nil {
			return true, err
		}
	}
	return true, c.State.Delete(ctx, k)
}

// Abandon undoes a granted decision whose execution could not be
// started: the lease is released as a failure (a start that keeps failing
// opens the breaker like a failing fix) and a group's action is given
// back so its next flush, due at once, tries again. The caller should
// also Forget the delivery, so the event source's retry is not taken for
// a duplicate.
func (c *Consolidator) Abandon(ctx context.Context, execution string, d Decision) error {
	bound, err := c.Ended(ctx, execution, false)
	if err == nil && !bound && d.Lease != nil {
		err = c.Release(ctx, *d.Lease, false)
	}
	return errors.Join(err, c.unclaim(ctx, d.claim, c.now()))
}

// FlushEvent is the event a scheduler sends to run Due: EventBridge
// Scheduler every minute in AWS (infra/ sends exactly this JSON).
const FlushEvent = `{"source":"medic.consolidation","detail-type":"Flush"}`

// IsFlushEvent reports whether an event body is FlushEvent.
func IsFlushEvent(body []byte) bool {
	var e struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	return json.Unmarshal(body, &e) == nil && e.Source == "medic.consolidation" && e.DetailType == "Flush"
}

// BoundExecutions lists the executions holding a lease: after a crash,
// recovery finishes those that ended (or never started) so their targets
// are not held until the lease expires.
func (c *Consolidator) BoundExecutions(ctx context.Context) (map[string]guard.Lease, error) {
	items, err := c.State.Query(ctx, pkExecution, "")
	out := make(map[string]guard.Lease, len(items))
	var damaged []error
	for i, it := range items {
		var lease guard.Lease
		if err := json.Unmarshal(it.Value, &lease); err != nil {
			damaged = append(damaged, c.setAside(ctx, items[i].Key, fmt.Errorf("consolidate: execution %s: stored lease is corrupt: %w", it.Key.SK, err)))
			continue
		}
		out[it.Key.SK] = lease
	}
	return out, errors.Join(append(damaged, err)...)
}
