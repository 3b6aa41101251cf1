// Package silence mutes alerts for a while, as Alertmanager silences do:
// a set of label matchers, a time window, who created it and why. A
// silenced alert is still recorded and counted; it just starts no
// remediation.
package silence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/state"
)

// Silence is one silence.
type Silence struct {
	ID        string         `json:"id"`
	Matchers  alert.Matchers `json:"matchers"`
	StartsAt  time.Time      `json:"starts_at"`
	EndsAt    time.Time      `json:"ends_at"`
	CreatedBy string         `json:"created_by"`
	Comment   string         `json:"comment"`
	CreatedAt time.Time      `json:"created_at"`
}

// State names where a silence is in its window.
func (s Silence) State(now time.Time) string {
	switch {
	case now.Before(s.StartsAt):
		return "pending"
	case now.Before(s.EndsAt):
		return "active"
	}
	return "expired"
}

// Active reports whether the silence mutes alerts at now.
func (s Silence) Active(now time.Time) bool { return s.State(now) == "active" }

// Validate checks the silence as Alertmanager would: matchers that cannot
// match everything, a non-empty window, an author and a reason.
func (s Silence) Validate() error {
	var problems []string
	if len(s.Matchers) == 0 {
		problems = append(problems, "matchers: at least one is required")
	} else if s.Matchers.Matches(map[string]string{}) {
		problems = append(problems, fmt.Sprintf("matchers: %s would also match an alert with no labels; add one that needs a value", s.Matchers))
	}
	if !s.EndsAt.After(s.StartsAt) {
		problems = append(problems, fmt.Sprintf("ends_at: %s is not after starts_at %s", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339)))
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		problems = append(problems, "created_by: required")
	}
	if strings.TrimSpace(s.Comment) == "" {
		problems = append(problems, "comment: required (say why)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("silence: %s", strings.Join(problems, "; "))
	}
	return nil
}

// ErrNotFound is returned for an unknown silence ID.
var ErrNotFound = errors.New("silence not found")

// Retention keeps expired silences listable for a day before the store's
// TTL removes them.
const Retention = 24 * time.Hour

const partition = "silence"

// Store keeps silences in a state.Store.
type Store struct {
	State state.Store
	Now   func() time.Time
}

func (st *Store) now() time.Time {
	if st.Now == nil {
		return time.Now()
	}
	return st.Now()
}

// Add validates s, gives it an ID and a creation time (and a start of now
// when unset) and stores it.
func (st *Store) Add(ctx context.Context, s Silence) (Silence, error) {
	now := st.now()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	s.CreatedAt = now
	if err := s.Validate(); err != nil {
		return s, err
	}
	if !s.EndsAt.After(now) {
		return s, fmt.Errorf("silence: ends_at %s is in the past", s.EndsAt.Format(time.RFC3339))
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return s, err
	}
	s.ID = hex.EncodeToString(b[:])
	return s, st.put(ctx, s, state.IfAbsent())
}

func (st *Store) put(ctx context.Context, s Silence, cond state.Condition) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = st.State.Put(ctx, state.Item{
		Key:       state.Key{PK: partition, SK: s.ID},
		Value:     data,
		ExpiresAt: s.EndsAt.Add(Retention),
	}, cond)
	return err
}

// List returns all silences not yet purged, by ID.
func (st *Store) List(ctx context.Context) ([]Silence, error) {
	items, err := st.State.Query(ctx, partition, "")
	if err != nil {
		return nil, err
	}
	out := make([]Silence, 0, len(items))
	for _, it := range items {
		var s Silence
		if err := json.Unmarshal(it.Value, &s); err != nil {
			problem := fmt.Errorf("silence %s: stored record is corrupt: %w", it.Key.SK, err)
			// One damaged silence must not stop every alert's admission:
			// set it aside where the store can, and go on without it.
			if q, ok := st.State.(state.Quarantiner); ok && q.SetAside(ctx, it.Key, problem.Error()) == nil {
				continue
			}
			return nil, problem
		}
		out = append(out, s)
	}
	return out, nil
}

// Expire ends a silence now; it stays listed (expired) for Retention.
func (st *Store) Expire(ctx context.Context, id string) (Silence, error) {
	var s Silence
	_, err := state.Update(ctx, st.State, state.Key{PK: partition, SK: id}, func(it *state.Item, ok bool) (bool, error) {
		if !ok {
			return false, fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		if err := json.Unmarshal(it.Value, &s); err != nil {
			return false, fmt.Errorf("silence %s: stored record is corrupt: %w", id, err)
		}
		now := st.now()
		if !s.EndsAt.After(now) {
			return false, nil // already expired
		}
		s.EndsAt = now
		if s.StartsAt.After(now) {
			s.StartsAt = now
		}
		data, err := json.Marshal(s)
		it.Value, it.ExpiresAt = data, now.Add(Retention)
		return true, err
	})
	return s, err
}

// Match returns the first active silence muting labels, or nil.
func (st *Store) Match(ctx context.Context, labels map[string]string) (*Silence, error) {
	all, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	now := st.now()
	for i := range all {
		if all[i].Active(now) && all[i].Matchers.Matches(labels) {
			return &all[i], nil
		}
	}
	return nil, nil
}
