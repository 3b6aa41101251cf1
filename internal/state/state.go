// Package state is the small key-value interface consolidation and the
// guardrails keep their state behind: one DynamoDB table in AWS, files on
// disk locally, a map in tests. Every implementation gives the same
// guarantees, checked by the shared conformance suite in statetest:
//
//   - keys are (PK, SK) strings, like one DynamoDB single-table design;
//   - Put is conditional (always, only if absent, only at a version), so
//     concurrent writers never lose an update;
//   - Incr is an atomic counter;
//   - an item past its ExpiresAt is absent for every operation, even if the
//     store has not physically removed it yet (DynamoDB TTL deletes lazily,
//     typically within two days).
package state

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// ErrConditionFailed is returned by Put when its condition does not hold.
var ErrConditionFailed = errors.New("state: condition failed")

// Key addresses one item. PK groups items that are listed together (Query);
// SK orders them within the group.
type Key struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

func (k Key) String() string { return k.PK + "/" + k.SK }

// Validate rejects keys no store can hold.
func (k Key) Validate() error {
	switch {
	case k.PK == "":
		return fmt.Errorf("state: key %q: empty pk", k)
	case k.SK == "":
		return fmt.Errorf("state: key %q: empty sk", k)
	case len(k.PK) > MaxKeyLen || len(k.SK) > MaxKeyLen:
		return fmt.Errorf("state: key %q: pk and sk must be at most %d bytes", k, MaxKeyLen)
	case strings.ContainsRune(k.PK+k.SK, 0):
		return fmt.Errorf("state: key %q: NUL byte in key", k)
	}
	return nil
}

// MaxKeyLen bounds PK and SK so every store (file names included) can hold
// them.
const MaxKeyLen = 200

// Item is one stored record.
type Item struct {
	Key Key
	// Value is the caller's encoded record (JSON by convention).
	Value []byte
	// Counter is the atomic counter Incr adds to.
	Counter int64
	// Version is set by the store: 1 on creation, +1 on every write. Use it
	// with IfVersion for optimistic concurrency.
	Version int64
	// ExpiresAt is when the item stops existing; zero means never.
	ExpiresAt time.Time
}

// Condition says when Put may write.
type Condition struct {
	kind    condKind
	version int64
}

type condKind int

const (
	condAlways condKind = iota
	condAbsent
	condVersion
)

// Always writes unconditionally.
func Always() Condition { return Condition{kind: condAlways} }

// IfAbsent writes only when no live item has the key.
func IfAbsent() Condition { return Condition{kind: condAbsent} }

// IfVersion writes only when the live item is at version v (v 0: absent).
func IfVersion(v int64) Condition {
	if v == 0 {
		return IfAbsent()
	}
	return Condition{kind: condVersion, version: v}
}

// Holds reports whether the condition allows writing over cur (nil when no
// live item exists). Stores that evaluate conditions themselves use it.
func (c Condition) Holds(cur *Item) bool {
	switch c.kind {
	case condAbsent:
		return cur == nil
	case condVersion:
		return cur != nil && cur.Version == c.version
	}
	return true
}

// RequiresAbsent reports an IfAbsent condition.
func (c Condition) RequiresAbsent() bool { return c.kind == condAbsent }

// RequiredVersion reports the version of an IfVersion condition.
func (c Condition) RequiredVersion() (int64, bool) { return c.version, c.kind == condVersion }

func (c Condition) String() string {
	switch c.kind {
	case condAbsent:
		return "if absent"
	case condVersion:
		return fmt.Sprintf("if version %d", c.version)
	}
	return "always"
}

// Store is what consolidation needs from persistence.
type Store interface {
	// Get returns the live item, or ok false.
	Get(ctx context.Context, k Key) (it Item, ok bool, err error)
	// Put writes it.Value, it.Counter and it.ExpiresAt under it.Key when
	// cond holds, and returns the new version; ErrConditionFailed (wrapped)
	// otherwise.
	Put(ctx context.Context, it Item, cond Condition) (version int64, err error)
	// Delete removes the item; deleting an absent key is not an error.
	Delete(ctx context.Context, k Key) error
	// Query returns the live items of pk whose SK starts with skPrefix,
	// ordered by SK.
	Query(ctx context.Context, pk, skPrefix string) ([]Item, error)
	// Incr adds delta to the item's counter atomically, creating the item
	// (counter 0, empty value) when absent or expired, sets its ExpiresAt,
	// and returns the new counter.
	Incr(ctx context.Context, k Key, delta int64, expiresAt time.Time) (int64, error)
}

// Quarantiner is a Store that can set a damaged item aside (the local
// files): its value no longer decodes as what its owner wrote. Callers
// skip such an item instead of failing on it.
type Quarantiner interface {
	SetAside(ctx context.Context, k Key, reason string) error
}

// Live reports whether an item with this expiry exists at now.
func Live(expiresAt, now time.Time) bool {
	return expiresAt.IsZero() || now.Before(expiresAt)
}

// Update reads k, lets change edit the item (ok false when absent) and
// writes it back with optimistic concurrency, retrying on conflict. change
// returns write false to leave the item alone. It returns the item as
// written (or as read, when nothing was written).
//
// A conflict means another writer got there first; retrying at once only
// collides again (in DynamoDB each failed conditional write still costs a
// write unit), so retries wait a random time up to an exponentially
// growing bound (full jitter), and give up after UpdateAttempts with an
// error wrapping ErrConditionFailed.
func Update(ctx context.Context, s Store, k Key, change func(it *Item, ok bool) (write bool, err error)) (Item, error) {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return Item{}, err
		}
		it, ok, err := s.Get(ctx, k)
		if err != nil {
			return Item{}, err
		}
		if !ok {
			it = Item{Key: k}
		}
		read := it.Version
		write, err := change(&it, ok)
		if err != nil || !write {
			return it, err
		}
		it.Key = k
		v, err := s.Put(ctx, it, IfVersion(read))
		if errors.Is(err, ErrConditionFailed) && attempt < UpdateAttempts {
			if err := sleepCtx(ctx, conflictBackoff(attempt)); err != nil {
				return Item{}, fmt.Errorf("update %s: %w", k, err)
			}
			continue
		}
		if err != nil {
			return Item{}, fmt.Errorf("update %s (attempt %d): %w", k, attempt, err)
		}
		it.Version = v
		return it, nil
	}
}

// UpdateAttempts bounds Update's writes of one item. With the backoff
// below, 32 writers contending for one key all get through well within it
// (the storm tests; 8 writers of one key over dynalite in the conformance
// suite), and a key no writer can win on fails after at most 3.5 s
// (about 1.7 s on average).
const UpdateAttempts = 24

// Conflict backoff bounds: the first retry waits up to 1 ms, each next one
// up to twice as long, never more than 200 ms.
const (
	backoffBase = time.Millisecond
	backoffCap  = 200 * time.Millisecond
)

// conflictBackoff is the wait before retry number attempt (1-based): a
// uniformly random duration up to min(cap, base·2^(attempt-1)), so
// contending writers spread out instead of colliding in lock step.
func conflictBackoff(attempt int) time.Duration {
	bound := backoffCap
	if shift := attempt - 1; shift < 20 && backoffBase<<shift < backoffCap {
		bound = backoffBase << shift
	}
	return time.Duration(rand.Int64N(int64(bound))) + 1
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
