package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// Group is an aggregation group of one rule (partition "group").
type Group struct {
	ID     string            `json:"id"`
	Rule   string            `json:"rule"`
	Labels map[string]string `json:"labels"`
	// Config is the rule's consolidation when the group was created; its
	// timers drive Due.
	Config  Config             `json:"config"`
	Members map[string]*Member `json:"members"`
	Created time.Time          `json:"created"`
	// NextFlush is when Due next looks at the group: created+group_wait,
	// then every group_interval.
	NextFlush time.Time `json:"next_flush"`
	LastFlush time.Time `json:"last_flush,omitempty"`
	// Notified holds the alerts that were firing when the group last
	// acted; a firing alert outside it is a change.
	Notified map[string]bool `json:"notified,omitempty"`
	// Seq counts the group's actions; it names their executions.
	Seq int `json:"seq"`
}

// Member is one alert of a group.
type Member struct {
	Status  alert.Status      `json:"status"`
	Labels  map[string]string `json:"labels"`
	Trigger trigger.Trigger   `json:"trigger"`
	Since   time.Time         `json:"since"`
}

// Key is the group's readable name: rule and grouping labels.
func (g *Group) Key() string { return g.Rule + alert.Summary(g.Labels) }

// Firing lists the fingerprints of the firing members, sorted.
func (g *Group) Firing() []string {
	var fps []string
	for fp, m := range g.Members {
		if m.Status == alert.Firing {
			fps = append(fps, fp)
		}
	}
	sort.Strings(fps)
	return fps
}

// claim marks the group as acting now on its firing alerts and returns
// the alerts notified before (to undo the claim).
func (g *Group) claim(now time.Time) map[string]bool {
	prev := g.Notified
	g.Notified = map[string]bool{}
	for _, fp := range g.Firing() {
		g.Notified[fp] = true
	}
	g.Seq++
	g.LastFlush = now
	g.NextFlush = now.Add(g.Config.GroupInterval)
	return prev
}

// representative picks the alert an action runs with: the newest firing
// alert that the group has not acted on yet, else the newest firing one;
// symptoms (of a firing dependency) only when nothing else fires.
func (g *Group) representative(prev, symptoms map[string]bool) (string, *Member) {
	var best string
	for _, fp := range g.Firing() {
		if symptoms[fp] && len(symptoms) < len(g.Firing()) {
			continue
		}
		if best == "" {
			best = fp
			continue
		}
		bNew, fNew := !prev[best], !prev[fp]
		m, b := g.Members[fp], g.Members[best]
		if fNew && !bNew || fNew == bNew && m.Since.After(b.Since) {
			best = fp
		}
	}
	if best == "" {
		return "", nil
	}
	return best, g.Members[best]
}

func (g *Group) expiry() time.Time {
	return g.NextFlush.Add(g.Config.RepeatInterval + 24*time.Hour)
}

// groupOf computes the grouping labels and the group ID of an alert.
func groupOf(cfg Config, labels map[string]string) (string, map[string]string) {
	gl := map[string]string{}
	if len(cfg.GroupBy) == 1 && cfg.GroupBy[0] == AllLabels {
		for k, v := range labels {
			gl[k] = v
		}
	} else {
		for _, k := range cfg.GroupBy {
			if v := labels[k]; v != "" {
				gl[k] = v
			}
		}
	}
	sum := sha256.Sum256([]byte(cfg.Rule + "\x00" + alert.Fingerprint(gl)))
	return cfg.Rule + "#" + hex.EncodeToString(sum[:8]), gl
}

func groupKey(id string) state.Key { return state.Key{PK: pkGroup, SK: id} }

// decodeGroup is decodeGroup that sets a damaged group aside: the
// operation fails once (its caller's retry starts the group afresh)
// instead of on every alert of the group forever.
func (c *Consolidator) decodeGroup(ctx context.Context, it *state.Item) (*Group, error) {
	g, err := decodeGroup(it)
	if err != nil {
		return nil, c.setAside(ctx, it.Key, err)
	}
	return g, nil
}

func decodeGroup(it *state.Item) (*Group, error) {
	var g Group
	if err := json.Unmarshal(it.Value, &g); err != nil {
		return nil, fmt.Errorf("consolidate: group %s: stored record is corrupt: %w", it.Key.SK, err)
	}
	return &g, nil
}

func encodeGroup(it *state.Item, g *Group) error {
	data, err := json.Marshal(g)
	it.Value, it.ExpiresAt = data, g.expiry()
	return err
}

// joined is the outcome of adding an alert to its group.
type joined struct {
	group   *Group
	isNew   bool // the alert was not a firing member before
	actNow  bool // a new group with no group_wait: act on this alert
	prev    map[string]bool
	changed bool
}

// join adds a firing alert to its group, creating the group when needed.
// A held alert (a symptom) joins without acting, even with no group_wait.
func (c *Consolidator) join(ctx context.Context, cfg Config, obs *Observation, now time.Time, hold bool) (joined, error) {
	id, labels := groupOf(cfg, obs.Alert.Labels)
	fp := obs.Alert.Fingerprint
	if !obs.Changed && obs.Alert.Status == alert.Firing && contains(obs.groups, id) {
		// A repeat of an alert already firing in this group: a member is
		// marked resolved only when its alert's status changes, so there
		// is nothing to read or write.
		return joined{group: &Group{ID: id, Rule: cfg.Rule, Labels: labels}}, nil
	}
	var j joined
	_, err := state.Update(ctx, c.State, groupKey(id), func(it *state.Item, ok bool) (bool, error) {
		j = joined{}
		g := &Group{ID: id, Rule: cfg.Rule, Labels: labels, Config: cfg, Members: map[string]*Member{},
			Created: now, NextFlush: now.Add(cfg.GroupWait)}
		if ok {
			var err error
			if g, err = c.decodeGroup(ctx, it); err != nil {
				return false, err
			}
		}
		j.group = g
		if m := g.Members[fp]; m != nil && m.Status == alert.Firing {
			return false, nil // a repeat: nothing new for the group
		}
		j.isNew = true
		g.Members[fp] = &Member{Status: alert.Firing, Labels: obs.Alert.Labels, Trigger: obs.Trigger, Since: now}
		if !ok && cfg.GroupWait == 0 && !hold {
			j.actNow, j.prev = true, g.claim(now)
		}
		return true, encodeGroup(it, g)
	})
	if err != nil || !j.isNew {
		return j, err
	}
	return j, c.noteGroup(ctx, fp, id)
}

// noteGroup remembers on the alert record that it joined group id.
func (c *Consolidator) noteGroup(ctx context.Context, fp, id string) error {
	_, err := state.Update(ctx, c.State, alertKey(fp), func(it *state.Item, ok bool) (bool, error) {
		if !ok || len(it.Value) == 0 {
			return false, nil
		}
		var rec Record
		if err := json.Unmarshal(it.Value, &rec); err != nil {
			return false, c.setAside(ctx, it.Key, fmt.Errorf("consolidate: alert %s: stored record is corrupt: %w", fp, err))
		}
		for _, g := range rec.Groups {
			if g == id {
				return false, nil
			}
		}
		rec.Groups = append(rec.Groups, id)
		data, err := json.Marshal(rec)
		it.Value = data
		return true, err
	})
	return err
}

// resolveMember marks the alert resolved in group id and closes the group
// when nothing in it fires any more.
func (c *Consolidator) resolveMember(ctx context.Context, id, fp string) error {
	now := c.now()
	_, err := state.Update(ctx, c.State, groupKey(id), func(it *state.Item, ok bool) (bool, error) {
		if !ok {
			return false, nil
		}
		g, err := c.decodeGroup(ctx, it)
		if err != nil {
			return false, err
		}
		m := g.Members[fp]
		if m == nil || m.Status == alert.Resolved {
			return false, nil
		}
		m.Status, m.Since = alert.Resolved, now
		delete(g.Notified, fp) // firing again later is a change
		if err := encodeGroup(it, g); err != nil {
			return false, err
		}
		if len(g.Firing()) == 0 {
			it.ExpiresAt = now // closed: absent from now on
		}
		return true, nil
	})
	return err
}

// unclaim gives a group's action back (the target was busy, the start
// failed) so the group acts again at its flush time next.
func (c *Consolidator) unclaim(ctx context.Context, cl groupClaim, next time.Time) error {
	if cl.group == "" {
		return nil
	}
	_, err := state.Update(ctx, c.State, groupKey(cl.group), func(it *state.Item, ok bool) (bool, error) {
		if !ok {
			return false, nil
		}
		g, err := c.decodeGroup(ctx, it)
		if err != nil || g.Seq != cl.seq {
			return false, err
		}
		g.Notified = cl.prev
		g.NextFlush = next
		return true, encodeGroup(it, g)
	})
	return err
}

// Groups lists the open groups.
func (c *Consolidator) Groups(ctx context.Context) ([]*Group, error) {
	items, err := c.State.Query(ctx, pkGroup, "")
	if err != nil {
		return nil, err
	}
	out := make([]*Group, 0, len(items))
	var damaged []error
	for i := range items {
		g, err := decodeGroup(&items[i])
		if err != nil {
			// One damaged group must not hide (or stop the flush of)
			// every other: set it aside where the store can (the
			// quarantine logs it), else report it with the others.
			if err := c.setAside(ctx, items[i].Key, err); !errors.Is(err, errSetAside) {
				damaged = append(damaged, err)
			}
			continue
		}
		out = append(out, g)
	}
	return out, errors.Join(damaged...)
}

// setAside quarantines a record that does not decode, when the store can
// (the local files); the error is returned either way, for the log.
func (c *Consolidator) setAside(ctx context.Context, k state.Key, problem error) error {
	q, ok := c.State.(state.Quarantiner)
	if !ok {
		return problem
	}
	if err := q.SetAside(ctx, k, problem.Error()); err != nil {
		return errors.Join(problem, err)
	}
	return fmt.Errorf("%w (%w)", problem, errSetAside)
}

// errSetAside marks an error whose damaged record was quarantined: the
// same operation, tried again, starts afresh.
var errSetAside = errors.New("quarantined")

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// executionKey names the group's current action. The creation time is in
// it because a group closes when its alerts resolve and a new one with
// the same ID starts counting again: its first action is a new execution.
func (g *Group) executionKey() string {
	return fmt.Sprintf("%s#%d@%d", g.ID, g.Seq, g.Created.UnixNano())
}
