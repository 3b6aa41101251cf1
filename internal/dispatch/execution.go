package dispatch

import (
	"context"
	"encoding/json"
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
	k := state.Key{PK: pkExecution, SK: execution}
	it, ok, err := c.State.Get(ctx, k)
	if err != nil || !ok {
		return err
	}
	var lease guard.Lease
	if err := json.Unmarshal(it.Value, &lease); err != nil {
		return fmt.Errorf("consolidate: execution %s: stored lease is corrupt: %w", execution, err)
	}
	if err := c.Release(ctx, lease, success); err != nil {
		return err
	}
	return c.State.Delete(ctx, k)
}
