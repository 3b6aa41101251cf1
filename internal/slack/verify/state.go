package verify

import (
	"context"
	"errors"
	"time"

	"github.com/medic-sre/medic/internal/state"
)

// ReplayPartition is the state partition of accepted signatures.
const ReplayPartition = "slack-replay"

// StateCache is a ReplayCache in the state store (the DynamoDB table in
// AWS): a conditional put "if absent" claims a signature, and the item
// expires with the replay window, so the table's TTL cleans up.
type StateCache struct{ State state.Store }

// Claim implements ReplayCache.
func (c StateCache) Claim(ctx context.Context, sig string, until time.Time) (bool, error) {
	_, err := c.State.Put(ctx, state.Item{Key: state.Key{PK: ReplayPartition, SK: sig}, ExpiresAt: until}, state.IfAbsent())
	if errors.Is(err, state.ErrConditionFailed) {
		return false, nil
	}
	return err == nil, err
}
