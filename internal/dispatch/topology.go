package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// Topology: while something an alert depends on is firing, the alert is a
// symptom of that root cause. It joins its group but is not remediated on
// its own; when the root resolves, its groups are due again and act if they
// still fire. Dependencies come from packs (Dependency: alerts matching
// Dependents depend on alerts matching DependsOn) and from the instances
// themselves (the `medic:depends-on` tag, read through the target
// resolver into the payload's target.depends_on).
//
// Each firing root marks a node down: partition "topology", one item per
// node ("dep:<dependency>" or "instance:<id>"). Finding an alert's root
// reads the few nodes it depends on, never the list of alerts.

// Dependency is one declared dependency (pack.yaml `topology:`).
type Dependency struct {
	// Name is unique across packs ("<pack>.<name>"): it names the node.
	Name       string
	Dependents alert.Matchers
	DependsOn  alert.Matchers
}

const pkTopology = "topology"

// maxSymptoms bounds the symptoms a root record lists for re-evaluation;
// beyond it, symptoms still wait (and are re-checked at each
// group_interval), they just are not woken early when the root resolves.
const maxSymptoms = 256

// Cause is the root an alert is a symptom of.
type Cause struct {
	// Node is what is down: "dep:<dependency>" or "instance:<id>".
	Node string `json:"node"`
	// Fingerprint and Name are the root alert's.
	Fingerprint string `json:"fingerprint"`
	Name        string `json:"name"`
	// Groups are the root alert's groups (its incident).
	Groups []string `json:"groups,omitempty"`
}

// String is the outcome's reason: "symptom of <root incident>".
func (c Cause) String() string {
	return fmt.Sprintf("symptom of %s (alert %s, %s is firing)", c.Name, c.Fingerprint, c.Node)
}

// topologyRecord is one node that is down.
type topologyRecord struct {
	// Roots are the firing alerts that put the node down.
	Roots map[string]rootAlert `json:"roots"`
	// Symptoms are held alerts' groups, woken when the node is up again.
	Symptoms []symptomRef `json:"symptoms,omitempty"`
}

type rootAlert struct {
	Name  string    `json:"name"`
	Since time.Time `json:"since"`
}

type symptomRef struct {
	Fingerprint string `json:"fingerprint"`
	Group       string `json:"group"`
	// Name is the symptom's alert name and labels summary, bounded, for
	// the root's timeline.
	Name string `json:"name,omitempty"`
}

func topologyKey(node string) state.Key { return state.Key{PK: pkTopology, SK: node} }

// resolvedTarget reads the resolved target the engine put in an alert's
// payload (engine.TargetKey): its instance id and dependencies.
func resolvedTarget(t trigger.Trigger) (id string, dependsOn []string) {
	p, _ := t.Payload["target"].(map[string]any)
	if ok, _ := p["resolved"].(bool); !ok {
		return "", nil
	}
	id, _ = p["instance_id"].(string)
	switch deps := p["depends_on"].(type) {
	case []any:
		for _, d := range deps {
			if s, ok := d.(string); ok && s != "" {
				dependsOn = append(dependsOn, s)
			}
		}
	case []string:
		dependsOn = deps
	}
	return id, dependsOn
}

// nodesOf are the nodes a firing alert puts down.
func (c *Consolidator) nodesOf(a alert.Alert, t trigger.Trigger) []string {
	var nodes []string
	for _, d := range c.Topology {
		if d.DependsOn.Matches(a.Labels) {
			nodes = append(nodes, "dep:"+d.Name)
		}
	}
	if id, _ := resolvedTarget(t); id != "" {
		nodes = append(nodes, "instance:"+id)
	}
	return nodes
}

// dependsOn are the nodes an alert needs. An alert that is on both sides
// of a dependency is a root there, not a symptom of itself.
func (c *Consolidator) dependsOn(a alert.Alert, t trigger.Trigger) []string {
	var nodes []string
	for _, d := range c.Topology {
		if d.Dependents.Matches(a.Labels) && !d.DependsOn.Matches(a.Labels) {
			nodes = append(nodes, "dep:"+d.Name)
		}
	}
	id, deps := resolvedTarget(t)
	for _, dep := range deps {
		if dep != id {
			nodes = append(nodes, "instance:"+dep)
		}
	}
	return nodes
}

// rootsDown records a firing alert on the nodes it puts down.
func (c *Consolidator) rootsDown(ctx context.Context, a alert.Alert, nodes []string, expires time.Time) error {
	for _, n := range nodes {
		err := c.updateNode(ctx, n, func(r *topologyRecord) bool {
			if _, ok := r.Roots[a.Fingerprint]; ok {
				return false
			}
			r.Roots[a.Fingerprint] = rootAlert{Name: a.Name(), Since: a.At}
			return true
		}, expires)
		if err != nil {
			return err
		}
	}
	return nil
}

// rootsUp takes a resolved alert off its nodes. A node with no firing
// root left is up: the groups of its symptoms are due at once, so they
// are re-evaluated (and act if they still fire and nothing else holds
// them).
func (c *Consolidator) rootsUp(ctx context.Context, fp string, nodes []string) error {
	now := c.now()
	for _, n := range nodes {
		var wake []symptomRef
		_, err := state.Update(ctx, c.State, topologyKey(n), func(it *state.Item, ok bool) (bool, error) {
			wake = nil
			if !ok {
				return false, nil
			}
			r, err := decodeNode(it)
			if err != nil {
				return false, err
			}
			if _, in := r.Roots[fp]; !in {
				return false, nil
			}
			delete(r.Roots, fp)
			if len(r.Roots) == 0 {
				wake, r.Symptoms = r.Symptoms, nil
				it.ExpiresAt = now // up: absent from now on
			}
			data, err := json.Marshal(r)
			it.Value = data
			return true, err
		})
		if err != nil {
			return err
		}
		for _, s := range wake {
			if err := c.wake(ctx, s.Group, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// symptomOf returns the root of a firing alert, or nil: one read per node
// the alert depends on.
func (c *Consolidator) symptomOf(ctx context.Context, a alert.Alert, t trigger.Trigger) (*Cause, error) {
	for _, n := range c.dependsOn(a, t) {
		it, ok, err := c.State.Get(ctx, topologyKey(n))
		if err != nil {
			return nil, fmt.Errorf("consolidate: topology %s: %w", n, err)
		}
		if !ok {
			continue
		}
		r, err := decodeNode(&it)
		if err != nil {
			return nil, err
		}
		if cause := r.root(n, a.Fingerprint); cause != nil {
			return cause, c.rootGroups(ctx, cause)
		}
	}
	return nil, nil
}

// root picks the node's oldest firing root other than the alert itself.
func (r *topologyRecord) root(node, self string) *Cause {
	fps := make([]string, 0, len(r.Roots))
	for fp := range r.Roots {
		if fp != self {
			fps = append(fps, fp)
		}
	}
	if len(fps) == 0 {
		return nil
	}
	sort.Slice(fps, func(i, j int) bool {
		a, b := r.Roots[fps[i]], r.Roots[fps[j]]
		return a.Since.Before(b.Since) || a.Since.Equal(b.Since) && fps[i] < fps[j]
	})
	return &Cause{Node: node, Fingerprint: fps[0], Name: r.Roots[fps[0]].Name}
}

// rootGroups fills in the root alert's groups: its incident.
func (c *Consolidator) rootGroups(ctx context.Context, cause *Cause) error {
	it, ok, err := c.State.Get(ctx, alertKey(cause.Fingerprint))
	if err != nil || !ok || len(it.Value) == 0 {
		return err
	}
	var rec Record
	if err := json.Unmarshal(it.Value, &rec); err != nil {
		return fmt.Errorf("consolidate: alert %s: stored record is corrupt: %w", cause.Fingerprint, err)
	}
	cause.Groups = rec.Groups
	return nil
}

// noteSymptom lists a held alert's group on its root's node, so the group
// is woken when the node is up.
// It returns the announcement of a symptom listed for the first time, for
// the root's remediations that already started.
func (c *Consolidator) noteSymptom(ctx context.Context, cause *Cause, a alert.Alert, group string) (*Announcement, error) {
	fp := a.Fingerprint
	added := false
	err := c.updateNode(ctx, cause.Node, func(r *topologyRecord) bool {
		if len(r.Roots) == 0 || len(r.Symptoms) >= maxSymptoms {
			return false
		}
		for _, s := range r.Symptoms {
			if s.Group == group && s.Fingerprint == fp {
				return false
			}
		}
		r.Symptoms = append(r.Symptoms, symptomRef{Fingerprint: fp, Group: group, Name: describe(a)})
		added = true
		return true
	}, time.Time{})
	if err != nil || !added {
		return nil, err
	}
	return c.announce(ctx, cause, a)
}

// Announcement tells the root's remediations (their threads) about a new
// symptom.
type Announcement struct {
	Symptom string `json:"symptom"`
	// Incidents are the root's group actions that started.
	Incidents []Incident `json:"incidents,omitempty"`
}

// Incident is one group action: engine.ExecutionName(Rule, ExecutionKey)
// names its execution.
type Incident struct {
	Rule         string `json:"rule"`
	ExecutionKey string `json:"execution_key"`
}

// announce reads the root's groups for the actions they started.
func (c *Consolidator) announce(ctx context.Context, cause *Cause, a alert.Alert) (*Announcement, error) {
	ann := &Announcement{Symptom: describe(a)}
	for _, id := range cause.Groups {
		it, ok, err := c.State.Get(ctx, groupKey(id))
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		g, err := decodeGroup(&it)
		if err != nil {
			return nil, err
		}
		if g.Seq > 0 {
			ann.Incidents = append(ann.Incidents, Incident{Rule: g.Rule, ExecutionKey: g.executionKey()})
		}
	}
	if len(ann.Incidents) == 0 {
		return nil, nil
	}
	return ann, nil
}

// updateNode applies change to a node's record (creating it when expires
// is set); change reports whether it changed anything.
func (c *Consolidator) updateNode(ctx context.Context, node string, change func(*topologyRecord) bool, expires time.Time) error {
	_, err := state.Update(ctx, c.State, topologyKey(node), func(it *state.Item, ok bool) (bool, error) {
		r := &topologyRecord{Roots: map[string]rootAlert{}}
		if ok {
			var err error
			if r, err = decodeNode(it); err != nil {
				return false, err
			}
		} else if expires.IsZero() {
			return false, nil
		}
		if !change(r) {
			return false, nil
		}
		data, err := json.Marshal(r)
		it.Value = data
		if !expires.IsZero() {
			it.ExpiresAt = expires
		}
		return true, err
	})
	return err
}

func decodeNode(it *state.Item) (*topologyRecord, error) {
	r := &topologyRecord{}
	if err := json.Unmarshal(it.Value, r); err != nil {
		return nil, fmt.Errorf("consolidate: topology %s: stored record is corrupt: %w", it.Key.SK, err)
	}
	if r.Roots == nil {
		r.Roots = map[string]rootAlert{}
	}
	return r, nil
}

// wake makes a group due now (its root resolved): Due re-evaluates it.
func (c *Consolidator) wake(ctx context.Context, id string, now time.Time) error {
	_, err := state.Update(ctx, c.State, groupKey(id), func(it *state.Item, ok bool) (bool, error) {
		if !ok {
			return false, nil
		}
		g, err := decodeGroup(it)
		if err != nil || !g.NextFlush.After(now) || len(g.Firing()) == 0 {
			return false, err
		}
		g.NextFlush = now
		return true, encodeGroup(it, g)
	})
	return err
}

// heldSymptoms checks a due group's firing members: it returns the cause
// when every one of them is a symptom (the group must not act), and the
// symptoms otherwise (the action's representative is then another alert).
func (c *Consolidator) heldSymptoms(ctx context.Context, g *Group) (*Cause, map[string]bool, []Announcement, error) {
	if !c.hasTopology(g) {
		return nil, nil, nil, nil
	}
	var (
		first *Cause
		anns  []Announcement
	)
	symptoms := map[string]bool{}
	firing := g.Firing()
	for _, fp := range firing {
		m := g.Members[fp]
		cause, err := c.symptomOf(ctx, alert.Alert{Fingerprint: fp, Labels: m.Labels, Status: m.Status}, m.Trigger)
		if err != nil {
			return nil, nil, nil, err
		}
		if cause != nil {
			symptoms[fp] = true
			if first == nil {
				first = cause
			}
			ann, err := c.noteSymptom(ctx, cause, alert.Alert{Fingerprint: fp, Labels: m.Labels}, g.ID)
			if err != nil {
				return nil, nil, nil, err
			}
			if ann != nil {
				anns = append(anns, *ann)
			}
		}
	}
	if len(firing) > 0 && len(symptoms) == len(firing) {
		return first, nil, anns, nil
	}
	return nil, symptoms, nil, nil
}

// hasTopology avoids reads for groups no dependency can concern.
func (c *Consolidator) hasTopology(g *Group) bool {
	if len(c.Topology) > 0 {
		return true
	}
	for _, m := range g.Members {
		if _, deps := resolvedTarget(m.Trigger); len(deps) > 0 {
			return true
		}
	}
	return false
}

// holdGroup postpones a due group whose alerts are all symptoms by one
// group_interval (or until its root resolves and wakes it). It reports
// false when another caller took the flush first.
func (c *Consolidator) holdGroup(ctx context.Context, id string, now time.Time) (bool, error) {
	held := false
	_, err := state.Update(ctx, c.State, groupKey(id), func(it *state.Item, ok bool) (bool, error) {
		held = false
		if !ok {
			return false, nil
		}
		g, err := decodeGroup(it)
		if err != nil || now.Before(g.NextFlush) {
			return false, err
		}
		g.NextFlush = now.Add(g.Config.GroupInterval)
		held = true
		return true, encodeGroup(it, g)
	})
	return held, err
}

// describe names an alert for a timeline: its name and where it fires,
// bounded (labels are the sender's).
func describe(a alert.Alert) string {
	where := ""
	for _, k := range DefaultTargetLabels {
		if v := a.Labels[k]; v != "" {
			where = " on " + v
			break
		}
	}
	s := a.Name() + where
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s + " (" + a.Fingerprint + ")"
}

// symptomsOf lists the symptoms held on the nodes a root alert puts down,
// for the timeline of the root's remediation: "the root cause and its
// symptoms". One read per node.
func (c *Consolidator) symptomsOf(ctx context.Context, a alert.Alert, t trigger.Trigger) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, n := range c.nodesOf(a, t) {
		it, ok, err := c.State.Get(ctx, topologyKey(n))
		if err != nil || !ok {
			if err != nil {
				return out, fmt.Errorf("consolidate: topology %s: %w", n, err)
			}
			continue
		}
		r, err := decodeNode(&it)
		if err != nil {
			return out, err
		}
		for _, s := range r.Symptoms {
			if !seen[s.Fingerprint] {
				seen[s.Fingerprint] = true
				out = append(out, s.Name)
			}
		}
	}
	return out, nil
}
