package chatops

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/state"
)

// ApprovalPartition is the state partition of open approval requests.
const ApprovalPartition = "approval"

// PendingTTL bounds how long an undecided request is remembered; an
// approval step's TimeoutSeconds is normally far shorter.
const PendingTTL = 7 * 24 * time.Hour

// StatePending is a Pending in the state store, so `/medic approve` works
// on whichever Lambda instance receives it.
type StatePending struct {
	State state.Store
	Now   func() time.Time
}

// Put implements Pending.
func (s StatePending) Put(ctx context.Context, p PendingApproval) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	_, err = s.State.Put(ctx, state.Item{Key: pendingKey(p.Execution), Value: data, ExpiresAt: now().Add(PendingTTL)}, state.Always())
	return err
}

// Get implements Pending.
func (s StatePending) Get(ctx context.Context, execution string) (PendingApproval, bool, error) {
	it, ok, err := s.State.Get(ctx, pendingKey(execution))
	if err != nil || !ok {
		return PendingApproval{}, false, err
	}
	var p PendingApproval
	if err := json.Unmarshal(it.Value, &p); err != nil {
		return PendingApproval{}, false, fmt.Errorf("approval request of %s: stored record is corrupt: %w", execution, err)
	}
	return p, true, nil
}

// Delete implements Pending.
func (s StatePending) Delete(ctx context.Context, execution string) error {
	return s.State.Delete(ctx, pendingKey(execution))
}

func pendingKey(execution string) state.Key { return state.Key{PK: ApprovalPartition, SK: execution} }
