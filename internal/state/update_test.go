package state

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// alwaysConflicting is a store on which every conditional write loses.
type alwaysConflicting struct {
	Store
	puts int
}

func (s *alwaysConflicting) Put(context.Context, Item, Condition) (int64, error) {
	s.puts++
	return 0, fmt.Errorf("put: %w", ErrConditionFailed)
}

// Update gives up after a small budget of writes, waiting between them
// (it retried 1,000 times back to back, each a billed write in DynamoDB).
func TestUpdateRetriesAreBoundedAndBackOff(t *testing.T) {
	s := &alwaysConflicting{Store: NewMemory(nil)}
	start := time.Now()
	_, err := Update(context.Background(), s, Key{PK: "p", SK: "s"}, func(*Item, bool) (bool, error) { return true, nil })
	if !errors.Is(err, ErrConditionFailed) {
		t.Fatalf("err = %v, want ErrConditionFailed", err)
	}
	if s.puts != UpdateAttempts {
		t.Fatalf("%d writes, want %d", s.puts, UpdateAttempts)
	}
	// Only the lower bound holds on a loaded machine: each retry waits at
	// least 1 ns, and the bounds are asserted on conflictBackoff below.
	if time.Since(start) <= 0 {
		t.Fatal("no time passed")
	}
	for attempt := 1; attempt < UpdateAttempts; attempt++ {
		limit := backoffCap
		if b := backoffBase << (attempt - 1); b < limit {
			limit = b
		}
		for i := 0; i < 50; i++ {
			if d := conflictBackoff(attempt); d <= 0 || d > limit+1 {
				t.Fatalf("attempt %d: backoff %v outside (0, %v]", attempt, d, limit)
			}
		}
	}
	// A cancelled context stops the retries at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.puts = 0
	if _, err := Update(ctx, s, Key{PK: "p", SK: "s"}, func(*Item, bool) (bool, error) { return true, nil }); !errors.Is(err, context.Canceled) || s.puts > 1 {
		t.Fatalf("cancelled: err %v after %d writes", err, s.puts)
	}
}
