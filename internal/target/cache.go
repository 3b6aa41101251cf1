package target

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Cache remembers resolutions in memory (per process: per Lambda
// instance), so a storm of alerts naming one instance costs one lookup.
// Definitive failures (not found, ambiguous) are remembered for a shorter
// time; other errors are not, so an API hiccup is retried on the next
// alert. At most Max addresses are kept; the oldest entry goes first.
type Cache struct {
	Next Resolver
	// TTL for a resolved target (default 5m): an IP moves to another
	// instance only after the first is terminated.
	TTL time.Duration
	// NegativeTTL for not-found and ambiguous (default 1m).
	NegativeTTL time.Duration
	// Max entries (default 4096).
	Max int
	Now func() time.Time

	mu      sync.Mutex
	entries map[Address]cacheEntry
	order   []Address // insertion order, for eviction
}

type cacheEntry struct {
	target  Target
	err     error
	expires time.Time
}

// Resolve answers from the cache or asks Next.
func (c *Cache) Resolve(ctx context.Context, a Address) (Target, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[a]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.target, e.err
	}
	t, err := c.Next.Resolve(ctx, a)
	ttl := orDefault(c.TTL, 5*time.Minute)
	if err != nil {
		if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrAmbiguous) {
			return t, err
		}
		ttl = orDefault(c.NegativeTTL, time.Minute)
	}
	c.store(a, cacheEntry{target: t, err: err, expires: now.Add(ttl)})
	return t, err
}

func (c *Cache) store(a Address, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[Address]cacheEntry{}
	}
	if _, ok := c.entries[a]; !ok {
		c.order = append(c.order, a)
	}
	c.entries[a] = e
	max := c.Max
	if max <= 0 {
		max = 4096
	}
	for len(c.entries) > max {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// Len is how many addresses are cached.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
