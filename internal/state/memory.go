package state

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in a map: tests and single-process tools.
type Memory struct {
	mu sync.Mutex
	// items is indexed by PK so Query reads one partition, as DynamoDB's.
	items map[string]map[string]Item
	now   func() time.Time
}

// NewMemory returns an empty store reading time from now (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{items: map[string]map[string]Item{}, now: now}
}

func (m *Memory) live(k Key) *Item {
	it, ok := m.items[k.PK][k.SK]
	if !ok || !Live(it.ExpiresAt, m.now()) {
		return nil
	}
	return &it
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, k Key) (Item, bool, error) {
	if err := k.Validate(); err != nil {
		return Item{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if it := m.live(k); it != nil {
		return cloneItem(*it), true, nil
	}
	return Item{}, false, nil
}

// Put implements Store.
func (m *Memory) Put(_ context.Context, it Item, cond Condition) (int64, error) {
	if err := it.Key.Validate(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.live(it.Key)
	if !cond.Holds(cur) {
		return 0, fmt.Errorf("put %s %s: %w", it.Key, cond, ErrConditionFailed)
	}
	return m.store(cloneItem(it)).Version, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, k Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items[k.PK], k.SK)
	return nil
}

// Query implements Store.
func (m *Memory) Query(_ context.Context, pk, skPrefix string) ([]Item, error) {
	if pk == "" {
		return nil, fmt.Errorf("state: query: empty pk")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Item
	now := m.now()
	for sk, it := range m.items[pk] {
		if strings.HasPrefix(sk, skPrefix) && Live(it.ExpiresAt, now) {
			out = append(out, cloneItem(it))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.SK < out[j].Key.SK })
	return out, nil
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, k Key, delta int64, expiresAt time.Time) (int64, error) {
	if err := k.Validate(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it := Item{Key: k}
	if cur := m.live(k); cur != nil {
		it = *cur
	}
	it.Counter += delta
	it.ExpiresAt = expiresAt
	return m.store(it).Counter, nil
}

// store writes it at the next version (versions survive expiry, so a
// stale reader's IfVersion fails).
func (m *Memory) store(it Item) Item {
	part := m.items[it.Key.PK]
	if part == nil {
		part = map[string]Item{}
		m.items[it.Key.PK] = part
	}
	it.Version = part[it.Key.SK].Version + 1
	part[it.Key.SK] = it
	return it
}

func cloneItem(it Item) Item {
	if it.Value != nil {
		it.Value = append([]byte(nil), it.Value...)
	}
	return it
}
