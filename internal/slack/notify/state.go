package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/state"
)

// ThreadPartition is the state partition of execution threads.
const ThreadPartition = "slack-thread"

// ThreadTTL is how long a thread is remembered: longer than any workflow
// runs (Step Functions Standard allows a year, but approvals time out
// far sooner), short enough that the table does not grow forever.
const ThreadTTL = 30 * 24 * time.Hour

// StateThreads keeps threads in the state store (the DynamoDB table in
// AWS), shared by the notify and chatops functions.
type StateThreads struct {
	State state.Store
	Now   func() time.Time
}

// Get implements Threads.
func (s StateThreads) Get(ctx context.Context, execution string) (Thread, bool, error) {
	it, ok, err := s.State.Get(ctx, threadKey(execution))
	if err != nil || !ok {
		return Thread{}, false, err
	}
	var t Thread
	if err := json.Unmarshal(it.Value, &t); err != nil {
		return Thread{}, false, fmt.Errorf("thread of %s: stored record is corrupt: %w", execution, err)
	}
	return t, true, nil
}

// Put implements Threads.
func (s StateThreads) Put(ctx context.Context, execution string, t Thread) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	_, err = s.State.Put(ctx, state.Item{Key: threadKey(execution), Value: data, ExpiresAt: now().Add(ThreadTTL)}, state.Always())
	return err
}

func threadKey(execution string) state.Key { return state.Key{PK: ThreadPartition, SK: execution} }
