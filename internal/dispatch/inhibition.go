package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/state"
)

// The inhibition index: for each inhibit rule, the firing alerts that match
// its source side, one item each, in a partition per (rule, values of the
// rule's `equal` labels):
//
//	pk  inhibit#<rule id>#<equal-values digest>
//	sk  <role>#<fingerprint>   role "s": matches the source side only,
//	                            role "b": matches both sides
//
// Muting a new alert is then one Query of the one partition its own
// `equal` values select, whatever the number of known alerts (before, it
// listed every known alert). Observe keeps the index: a firing delivery of
// a source writes its item (renewing its expiry with the alert's), a
// resolution deletes it. The alert record stays the truth: an index item
// is only believed after reading its alert record (firing and live), and a
// stale one found that way is deleted, so a lost race between a firing and
// a resolving delivery cannot mute anything. The first admission that
// consults a rule definition builds its index once from the alert list
// (sources that fired before this index existed, or before the rule was
// added) and marks it built (pk inhibit#<rule id>, sk built).
const pkInhibit = "inhibit"

func inhibitPartition(r inhibit.Rule, labels map[string]string) string {
	return pkInhibit + "#" + r.ID() + "#" + r.EqualKey(labels)
}

func inhibitSourceKey(r inhibit.Rule, role inhibit.Role, rec Record) state.Key {
	return state.Key{PK: inhibitPartition(r, rec.Labels), SK: string(role) + "#" + rec.Fingerprint}
}

func inhibitBuiltKey(r inhibit.Rule) state.Key {
	return state.Key{PK: pkInhibit + "#" + r.ID(), SK: "built"}
}

// inhibitSource is the value of a source item: what the mute reason names.
type inhibitSource struct {
	Name string `json:"name"`
}

// indexSource records rec (just tracked by Observe) in, or removes it
// from, the source index of every rule whose source side it matches.
func (c *Consolidator) indexSource(ctx context.Context, rec Record, changed bool, expires time.Time) error {
	for _, r := range c.Inhibit {
		role, ok := r.SourceRole(rec.Labels)
		if !ok {
			continue
		}
		k := inhibitSourceKey(r, role, rec)
		var err error
		switch {
		case rec.Status == alert.Firing:
			err = c.putSource(ctx, k, rec, expires)
		case changed:
			err = c.State.Delete(ctx, k)
		}
		if err != nil {
			return fmt.Errorf("consolidate: inhibit rule %s: index alert %s: %w", r.Name, rec.Fingerprint, err)
		}
	}
	return nil
}

func (c *Consolidator) putSource(ctx context.Context, k state.Key, rec Record, expires time.Time) error {
	value, err := json.Marshal(inhibitSource{Name: rec.alert().Name()})
	if err != nil {
		return err
	}
	_, err = c.State.Put(ctx, state.Item{Key: k, Value: value, ExpiresAt: expires}, state.Always())
	return err
}

// inhibitedBy returns what inhibits a, or nil: per rule whose target side
// a matches, one Query of the sources sharing a's `equal` values, each
// candidate confirmed on its alert record.
func (c *Consolidator) inhibitedBy(ctx context.Context, a alert.Alert) (*inhibit.Inhibitor, error) {
	for _, r := range c.Inhibit {
		if !r.Target.Matches(a.Labels) {
			continue
		}
		if err := c.buildInhibitIndex(ctx, r); err != nil {
			return nil, err
		}
		pk := inhibitPartition(r, a.Labels)
		for _, role := range r.Eligible(a.Labels) {
			items, err := c.State.Query(ctx, pk, string(role)+"#")
			if err != nil {
				return nil, fmt.Errorf("consolidate: inhibit rule %s: %w", r.Name, err)
			}
			for _, it := range items {
				fp := strings.TrimPrefix(it.Key.SK, string(role)+"#")
				if fp == a.Fingerprint {
					continue // an alert does not inhibit itself
				}
				src, firing, err := c.firingSource(ctx, r, role, fp)
				if err != nil {
					return nil, err
				}
				if !firing {
					// Stale (its resolution raced a firing delivery, or it
					// expired): forget it; the record said so.
					if err := c.State.Delete(ctx, it.Key); err != nil {
						return nil, fmt.Errorf("consolidate: inhibit rule %s: drop stale source %s: %w", r.Name, fp, err)
					}
					continue
				}
				return &inhibit.Inhibitor{Rule: r.Name, Fingerprint: fp, Name: src.alert().Name()}, nil
			}
		}
	}
	return nil, nil
}

// firingSource reads the alert record behind an index item and reports
// whether it still fires as a source of r in that role.
func (c *Consolidator) firingSource(ctx context.Context, r inhibit.Rule, role inhibit.Role, fp string) (Record, bool, error) {
	it, ok, err := c.State.Get(ctx, alertKey(fp))
	if err != nil || !ok || len(it.Value) == 0 {
		return Record{}, false, err
	}
	var rec Record
	if err := json.Unmarshal(it.Value, &rec); err != nil {
		return Record{}, false, nil // the record is damaged: Observe sets it aside
	}
	got, isSource := r.SourceRole(rec.Labels)
	return rec, isSource && got == role && rec.Status == alert.Firing, nil
}

// buildInhibitIndex indexes, once per rule definition, the sources that
// were firing before the index existed. The per-process memo keeps it to
// one read per rule per process afterwards.
func (c *Consolidator) buildInhibitIndex(ctx context.Context, r inhibit.Rule) error {
	id := r.ID()
	if _, done := c.inhibitBuilt.Load(id); done {
		return nil
	}
	k := inhibitBuiltKey(r)
	_, built, err := c.State.Get(ctx, k)
	if err != nil {
		return fmt.Errorf("consolidate: inhibit rule %s: %w", r.Name, err)
	}
	if !built {
		if err := c.indexFiringSources(ctx, r); err != nil {
			return err
		}
		if _, err := c.State.Put(ctx, state.Item{Key: k}, state.Always()); err != nil {
			return fmt.Errorf("consolidate: inhibit rule %s: mark index built: %w", r.Name, err)
		}
	}
	c.inhibitBuilt.Store(id, true)
	return nil
}

func (c *Consolidator) indexFiringSources(ctx context.Context, r inhibit.Rule) error {
	recs, err := c.Alerts(ctx)
	if err != nil {
		return fmt.Errorf("consolidate: inhibit rule %s: build index: %w", r.Name, err)
	}
	expires := c.now().Add(orDefault(c.AlertTTL, 7*24*time.Hour))
	var problems []error
	for _, rec := range recs {
		role, ok := r.SourceRole(rec.Labels)
		if !ok || rec.Status != alert.Firing {
			continue
		}
		problems = append(problems, c.putSource(ctx, inhibitSourceKey(r, role, rec), rec, expires))
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("consolidate: inhibit rule %s: build index: %w", r.Name, err)
	}
	return nil
}

// isInhibitSource reports whether labels match the source side of an
// inhibit rule: such an alert mutes others while it fires, whether or not
// a rule acts on it.
func (c *Consolidator) isInhibitSource(labels map[string]string) bool {
	for _, r := range c.Inhibit {
		if _, ok := r.SourceRole(labels); ok {
			return true
		}
	}
	return false
}
