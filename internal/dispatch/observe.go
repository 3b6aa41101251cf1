package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/flap"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// Consolidator holds the shared parts. Every field but State is optional.
type Consolidator struct {
	State   state.Store
	Inhibit []inhibit.Rule
	Flap    flap.Config
	Now     func() time.Time
	// DeliveryTTL is how long a delivery ID is remembered (default 48h:
	// EventBridge retries for up to 24h).
	DeliveryTTL time.Duration
	// AlertTTL is how long an alert without events is remembered (default
	// 7 days).
	AlertTTL time.Duration
	// PendingGrace is how long a delivery may be in progress (claimed, not
	// yet Delivered) before a redelivery takes it over: the process that
	// claimed it died mid-intake (default 2m, well over any intake).
	PendingGrace time.Duration
	// Topology are the packs' declared dependencies (topology.go).
	Topology []Dependency

	// inhibitBuilt memoises the inhibit rules (by Rule.ID) whose source
	// index is known to be built.
	inhibitBuilt sync.Map
}

// deliveryClaim is the value of a delivery item: PendingSince is set from
// the claim until Delivered, so a claim a crash left behind is told from
// a delivery that was dealt with.
type deliveryClaim struct {
	PendingSince time.Time `json:"pending_since,omitzero"`
}

func (c *Consolidator) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Consolidator) silences() *silence.Store { return &silence.Store{State: c.State, Now: c.Now} }

func (c *Consolidator) guard() *guard.Guard { return &guard.Guard{State: c.State, Now: c.Now} }

// Silences is the silence store sharing this consolidator's state.
func (c *Consolidator) Silences() *silence.Store { return c.silences() }

// Partitions of the single table.
const (
	pkDelivery = "delivery"
	pkAlert    = "alert"
	pkGroup    = "group"
)

// Observation is what one delivery told us.
type Observation struct {
	Trigger trigger.Trigger
	// Duplicate: this delivery ID was seen before (an at-least-once
	// redelivery); nothing else was recorded.
	Duplicate bool
	// IsAlert: the trigger is a CloudWatch or Alertmanager alert.
	IsAlert bool
	Alert   alert.Alert
	// Count is how many deliveries of this alert were recorded, this one
	// included.
	Count int64
	// Changed: this delivery changed the alert's status.
	Changed     bool
	Flapping    bool
	FlapPercent float64
	// groups the alert had joined before this delivery.
	groups []string
}

// Record is the stored state of one alert (partition "alert").
type Record struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Status      alert.Status      `json:"status"`
	// Since is the source time of the current status.
	Since     time.Time    `json:"since"`
	FirstSeen time.Time    `json:"first_seen"`
	Flap      flap.History `json:"flap"`
	// Groups the alert joined, so a resolution can close them whatever
	// rule matched.
	Groups []string `json:"groups,omitempty"`
	// Nodes the alert put down while firing (topology.go), so its
	// resolution brings them up.
	Nodes []string `json:"nodes,omitempty"`
	// Count is filled from the item's counter when read.
	Count int64 `json:"-"`
}

func (r Record) alert() alert.Alert {
	return alert.Alert{Fingerprint: r.Fingerprint, Labels: r.Labels, Status: r.Status, At: r.Since}
}

func alertKey(fp string) state.Key { return state.Key{PK: pkAlert, SK: fp} }

// Observe records one delivery: it claims the delivery ID (a redelivery
// is reported as Duplicate and records nothing), counts the alert, tracks
// its status and flapping, and closes its groups when it resolves. Call it
// once per trigger, before Admit. On an error the observation still
// describes the trigger (IsAlert false), so the caller may carry on
// without consolidation.
func (c *Consolidator) Observe(ctx context.Context, t trigger.Trigger) (*Observation, error) {
	obs := &Observation{Trigger: t}
	if c.State == nil {
		return obs, errNoState
	}
	if t.ID == "" {
		return obs, fmt.Errorf("consolidate: trigger has no id, so redeliveries cannot be recognised")
	}
	now := c.now()
	duplicate, err := c.claim(ctx, t.ID, now)
	if err != nil {
		return obs, fmt.Errorf("consolidate: delivery %s: %w", t.ID, err)
	}
	if duplicate {
		obs.Duplicate = true
		return obs, nil
	}
	if !alert.IsAlert(t) {
		return obs, nil
	}
	a, err := alert.FromTrigger(t)
	if err != nil {
		return obs, err
	}
	obs.IsAlert, obs.Alert = true, a
	expires := now.Add(orDefault(c.AlertTTL, 7*24*time.Hour))
	if obs.Count, err = c.State.Incr(ctx, alertKey(a.Fingerprint), 1, expires); err != nil {
		return obs, fmt.Errorf("consolidate: count alert %s: %w", a.Fingerprint, err)
	}
	nodes := c.nodesOf(a, t)
	rec, err := c.track(ctx, obs, now, expires, nodes)
	if errors.Is(err, errSetAside) {
		rec, err = c.track(ctx, obs, now, expires, nodes) // the damaged record is gone: start afresh
	}
	if err != nil {
		return obs, err
	}
	obs.groups = rec.Groups
	if err := c.indexSource(ctx, rec, obs.Changed, expires); err != nil {
		return obs, err
	}
	switch {
	case obs.Changed && a.Status == alert.Firing:
		return obs, c.rootsDown(ctx, a, nodes, expires)
	case obs.Changed && a.Status == alert.Resolved:
		for _, g := range rec.Groups {
			if err := c.resolveMember(ctx, g, a.Fingerprint); err != nil {
				return obs, err
			}
		}
		return obs, c.rootsUp(ctx, a.Fingerprint, rec.Nodes)
	}
	return obs, nil
}

// track updates the alert record's status and flap history; a firing
// alert's record keeps the topology nodes it puts down.
func (c *Consolidator) track(ctx context.Context, obs *Observation, now, expires time.Time, nodes []string) (Record, error) {
	a := obs.Alert
	var rec Record
	_, err := state.Update(ctx, c.State, alertKey(a.Fingerprint), func(it *state.Item, _ bool) (bool, error) {
		rec = Record{}
		isNew := len(it.Value) == 0
		if !isNew {
			if err := json.Unmarshal(it.Value, &rec); err != nil {
				// Set aside where the store can: the write below then
				// finds the key gone and Update starts this alert afresh.
				// Otherwise every delivery of this alert would fail.
				return false, c.setAside(ctx, it.Key, fmt.Errorf("consolidate: alert %s: stored record is corrupt: %w", a.Fingerprint, err))
			}
		}
		// A delivery older than the current status is late (out of order):
		// it is counted but does not turn the status back.
		changed := !isNew && a.Status != rec.Status && !a.At.Before(rec.Since)
		wasFlapping := rec.Flap.Flapping
		obs.FlapPercent = rec.Flap.Record(c.Flap, now, changed, now)
		obs.Flapping, obs.Changed = rec.Flap.Flapping, changed || isNew
		if !isNew && !changed && wasFlapping == rec.Flap.Flapping {
			return false, nil
		}
		if isNew {
			rec = Record{Fingerprint: a.Fingerprint, Labels: a.Labels, FirstSeen: now, Flap: rec.Flap}
		}
		if isNew || changed {
			rec.Status, rec.Since = a.Status, a.At
			if a.Status == alert.Firing {
				rec.Nodes = nodes
			}
		}
		data, err := json.Marshal(rec)
		it.Value, it.ExpiresAt = data, expires
		return true, err
	})
	return rec, err
}

// claim takes the delivery ID, pending. It is a duplicate when already
// claimed, unless that claim is still pending after PendingGrace: its
// process died mid-intake (it never answered the sender, who retried), and
// this redelivery takes it over, so the alert is not lost. A takeover while
// the first is somehow still running is harmless: execution names and
// leases keep it to one remediation.
func (c *Consolidator) claim(ctx context.Context, id string, now time.Time) (duplicate bool, err error) {
	k := state.Key{PK: pkDelivery, SK: id}
	value, _ := json.Marshal(deliveryClaim{PendingSince: now})
	it := state.Item{Key: k, Value: value, ExpiresAt: now.Add(orDefault(c.DeliveryTTL, 48*time.Hour))}
	_, err = c.State.Put(ctx, it, state.IfAbsent())
	if !errors.Is(err, state.ErrConditionFailed) {
		return false, err
	}
	cur, ok, err := c.State.Get(ctx, k)
	if err != nil || !ok {
		return true, err // gone since: it was forgotten for a retry in flight
	}
	var held deliveryClaim
	if json.Unmarshal(cur.Value, &held) != nil || held.PendingSince.IsZero() ||
		now.Sub(held.PendingSince) < orDefault(c.PendingGrace, 2*time.Minute) {
		return true, nil
	}
	_, err = c.State.Put(ctx, it, state.IfVersion(cur.Version))
	if errors.Is(err, state.ErrConditionFailed) {
		return true, nil // another redelivery took it over first
	}
	return false, err
}

// Delivered marks the delivery of t as dealt with (acted on, held or
// refused for good): from now on a redelivery is a duplicate for as long
// as DeliveryTTL. The caller calls it once every outcome is recorded.
func (c *Consolidator) Delivered(ctx context.Context, t trigger.Trigger) error {
	if t.ID == "" {
		return nil
	}
	k := state.Key{PK: pkDelivery, SK: t.ID}
	_, err := state.Update(ctx, c.State, k, func(it *state.Item, ok bool) (bool, error) {
		if !ok || len(it.Value) == 0 {
			return false, nil // forgotten, or claimed before claims were marked
		}
		it.Value = nil
		return true, nil
	})
	return err
}

// Forget drops the delivery claim of t so a retry of a delivery whose
// action failed to start is not taken for a duplicate.
func (c *Consolidator) Forget(ctx context.Context, t trigger.Trigger) error {
	if t.ID == "" {
		return nil
	}
	return c.State.Delete(ctx, state.Key{PK: pkDelivery, SK: t.ID})
}

// Alerts lists the known alerts with their counts.
func (c *Consolidator) Alerts(ctx context.Context) ([]Record, error) {
	items, err := c.State.Query(ctx, pkAlert, "")
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(items))
	for _, it := range items {
		if len(it.Value) == 0 {
			continue // counted, status not written yet
		}
		var r Record
		if err := json.Unmarshal(it.Value, &r); err != nil {
			problem := fmt.Errorf("consolidate: alert %s: stored record is corrupt: %w", it.Key.SK, err)
			if err := c.setAside(ctx, it.Key, problem); !errors.Is(err, errSetAside) {
				return nil, err
			}
			continue // quarantined (and logged there): list the others
		}
		r.Count = it.Counter
		out = append(out, r)
	}
	return out, nil
}

var errNoState = errors.New("consolidate: Consolidator.State is nil")

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
