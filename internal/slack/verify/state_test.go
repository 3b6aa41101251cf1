package verify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/state"
)

// Two instances sharing one state store: a request accepted by the first
// is a replay to the second, until the window has passed.
func TestStateCacheRefusesReplaysAcrossInstances(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	store := state.NewMemory(clock)
	a, _ := New(secret, 0, clock)
	b, _ := New(secret, 0, clock)
	a.WithReplayCache(StateCache{State: store})
	b.WithReplayCache(StateCache{State: store})
	body := []byte("command=%2Fmedic&text=alerts")
	h := headers(now.Unix(), Sign(secret, now.Unix(), body))
	if err := a.Verify(h, body); err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := b.Verify(h, body); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay on the other instance: %v", err)
	}
	if c := b.Counters(); c.Replayed != 1 || c.Accepted != 0 {
		t.Fatalf("counters = %+v", c)
	}
	it, ok, _ := store.Get(context.Background(), state.Key{PK: ReplayPartition, SK: h.Get(HeaderSignature)})
	if !ok || !it.ExpiresAt.Equal(now.Add(DefaultWindow)) {
		t.Fatalf("claim = %+v %v, want expiry at the end of the window", it, ok)
	}
}

type brokenCache struct{}

func (brokenCache) Claim(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("table unreachable")
}

// When freshness cannot be checked the request is refused and counted.
func TestUnavailableCacheFailsClosed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v, _ := New(secret, 0, fixedClock(now))
	v.WithReplayCache(brokenCache{})
	body := []byte("x=1")
	err := v.Verify(headers(now.Unix(), Sign(secret, now.Unix(), body)), body)
	if !errors.Is(err, ErrUnavailable) || v.Counters().Unavailable != 1 {
		t.Fatalf("err = %v, counters %+v", err, v.Counters())
	}
	// A forged request is still forged, without asking the cache.
	if err := v.Verify(headers(now.Unix(), "v0=00"), body); !errors.Is(err, ErrForged) {
		t.Fatalf("forged: %v", err)
	}
}
