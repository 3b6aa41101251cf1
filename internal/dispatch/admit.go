package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// Decision is the consolidator's answer for one rule.
type Decision struct {
	// Act: start the remediation now.
	Act bool `json:"act"`
	// Reason says why not (or what was granted), for the execution log and
	// Slack: "duplicate delivery", "silenced by <id>", "inhibited by <fp>",
	// "flapping", "grouped into <key> (waiting)", "rate limited", "target
	// busy", "circuit open → escalate to a human".
	Reason string `json:"reason"`
	// Escalate: automation stops here; tell a human (Slack).
	Escalate    bool   `json:"escalate,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	GroupKey    string `json:"group_key,omitempty"`
	Target      string `json:"target,omitempty"`
	// ExecutionKey replaces the trigger ID in the execution name
	// (engine.ExecutionName(rule, ExecutionKey)): the same group action
	// always gets the same name, whoever starts it.
	ExecutionKey string `json:"execution_key,omitempty"`
	// Lease, when Act, holds the target; Release it when the run ends.
	Lease *guard.Lease `json:"lease,omitempty"`
	// Symptom is the root cause when the alert is a symptom of a firing
	// dependency (topology.go): held, not remediated on its own.
	Symptom *Cause `json:"symptom,omitempty"`
	// Announce, for a symptom listed on its root for the first time, names
	// the root's remediations already started: their threads are told.
	Announce []Announcement `json:"announce,omitempty"`
	// Symptoms, when Act, are the alerts held as symptoms of this one (its
	// incident), for the remediation's timeline.
	Symptoms []string `json:"symptoms,omitempty"`

	// claim is the group action this decision took, so Abandon can give
	// it back; empty for triggers that are not alerts.
	claim groupClaim
	// later: the guard's refusal only lasts a while (guard.Verdict.Later).
	later bool
}

// groupClaim names one claimed action of a group.
type groupClaim struct {
	group string
	seq   int
	prev  map[string]bool
}

// Admit decides whether the rule cfg.Rule, which matched obs's trigger,
// acts now. When Decision.Act is true the caller starts the action and
// must Release(Decision.Lease) when it ends (or fails to start).
func (c *Consolidator) Admit(ctx context.Context, obs *Observation, cfg Config) (Decision, error) {
	if c.State == nil {
		return Decision{}, errNoState
	}
	if obs == nil {
		return Decision{}, errors.New("consolidate: Admit needs the Observation of the trigger")
	}
	if err := cfg.Validate(); err != nil {
		return Decision{}, err
	}
	cfg = cfg.WithDefaults()
	t := obs.Trigger
	if obs.Duplicate {
		return Decision{Reason: "duplicate delivery of " + t.ID}, nil
	}
	if !obs.IsAlert {
		// Timers, webhooks: no grouping, but the guardrails still hold.
		return c.guarded(ctx, cfg, Decision{Target: payloadTarget(cfg, t.Payload), ExecutionKey: t.ID})
	}
	a := obs.Alert
	d := Decision{Fingerprint: a.Fingerprint}
	switch a.Status {
	case alert.Resolved:
		d.Reason = "resolved: no action (its groups close when nothing in them fires)"
		return d, nil
	case alert.Unknown:
		d.Reason = "insufficient data: no action"
		return d, nil
	}
	if muted, err := c.muted(ctx, a); err != nil || muted != "" {
		d.Reason = muted
		return d, err
	}
	if obs.Flapping {
		d.Reason = fmt.Sprintf("flapping (%.0f%% state changes): held until it settles", obs.FlapPercent)
		return d, nil
	}
	cause, err := c.symptomOf(ctx, a, t)
	if err != nil {
		return d, err
	}
	now := c.now()
	j, err := c.join(ctx, cfg, obs, now, cause != nil)
	if err != nil {
		return d, err
	}
	g := j.group
	d.GroupKey = g.Key()
	if cause != nil {
		d.Reason, d.Symptom = cause.String(), cause
		ann, err := c.noteSymptom(ctx, cause, a, g.ID)
		if ann != nil {
			d.Announce = []Announcement{*ann}
		}
		return d, err
	}
	if !j.actNow {
		switch {
		case !j.isNew:
			d.Reason = fmt.Sprintf("grouped into %s (already firing there)", d.GroupKey)
		default:
			d.Reason = fmt.Sprintf("grouped into %s (waiting until %s)", d.GroupKey, g.NextFlush.UTC().Format(time.RFC3339))
		}
		return d, nil
	}
	d.Target = targetOf(cfg, a.Labels, g.ID)
	d.ExecutionKey = g.executionKey()
	d.claim = groupClaim{group: g.ID, seq: g.Seq, prev: j.prev}
	if d.Symptoms, err = c.symptomsOf(ctx, a, t); err != nil {
		return d, err
	}
	d, err = c.guarded(ctx, cfg, d)
	if err == nil && deferred(d) {
		err = c.unclaim(ctx, d.claim, g.NextFlush)
	}
	return d, err
}

// muted returns why a silence or an inhibition mutes the alert, or "".
func (c *Consolidator) muted(ctx context.Context, a alert.Alert) (string, error) {
	s, err := c.silences().Match(ctx, a.Labels)
	if err != nil || s != nil {
		if s != nil {
			return fmt.Sprintf("silenced by %s (%s: %s)", s.ID, s.CreatedBy, s.Comment), nil
		}
		return "", err
	}
	in, err := c.inhibitedBy(ctx, a)
	if err != nil || in == nil {
		return "", err
	}
	return fmt.Sprintf("inhibited by %s (%s, rule %s)", in.Fingerprint, in.Name, in.Rule), nil
}

// guarded asks the guard and completes the decision.
func (c *Consolidator) guarded(ctx context.Context, cfg Config, d Decision) (Decision, error) {
	lease, v, err := c.guard().Acquire(ctx, cfg.Rule, d.Target, cfg.Guard)
	if err != nil {
		return d, err
	}
	d.Act, d.Escalate, d.Lease, d.later = v.OK, v.Escalate, lease, v.Later
	d.Reason = v.Reason
	if v.OK {
		d.Reason = "act on " + d.Target
	}
	return d, nil
}

// deferred reports a refusal that only postpones the group's action: the
// target is busy or the rate limit's window is full. The group keeps its
// claim back and tries again at its next flush, so a storm larger than the
// rate limit is worked through rather than dropped. An open breaker is
// not deferred: it escalates, and the group waits for its repeat_interval.
func deferred(d Decision) bool {
	return !d.Act && d.later
}

func targetOf(cfg Config, labels map[string]string, fallback string) string {
	for _, k := range cfg.TargetLabels {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return fallback
}

func payloadTarget(cfg Config, payload map[string]any) string {
	for _, k := range cfg.TargetLabels {
		if v, ok := payload[k].(string); ok && v != "" {
			return v
		}
	}
	return "rule:" + cfg.Rule
}

// Acquire asks the guard directly, for runs that do not come from an
// alert (a ChatOps command, a retry). release must be called when the run
// ends.
func (c *Consolidator) Acquire(ctx context.Context, cfg Config, target string) (release func(success bool) error, d Decision, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, Decision{}, err
	}
	cfg = cfg.WithDefaults()
	d, err = c.guarded(ctx, cfg, Decision{Target: target})
	if err != nil || !d.Act {
		return nil, d, err
	}
	lease := *d.Lease
	return func(success bool) error { return c.Release(ctx, lease, success) }, d, nil
}

// Release ends a run granted by Admit, Due or Acquire: it frees the target
// and feeds the circuit breaker.
func (c *Consolidator) Release(ctx context.Context, lease guard.Lease, success bool) error {
	return c.guard().Release(ctx, lease, success)
}

// Flush is one group action that Due started.
type Flush struct {
	Decision
	Rule string `json:"rule"`
	// Trigger is the representative alert's delivery: evaluate the rule's
	// parameters on it.
	Trigger trigger.Trigger `json:"trigger"`
	// Alerts are all the group's firing alerts.
	Alerts []alert.Alert `json:"alerts"`
}

// Due runs the groups' timers: every group whose next flush has come acts
// if it changed since it last acted (or on its first flush), or again
// after repeat_interval; otherwise it waits another group_interval.
// Several callers may run Due at once (two Lambdas, a retry): each group
// action is claimed by one conditional write, so it is returned once.
// Call it every few seconds locally, every minute in AWS.
func (c *Consolidator) Due(ctx context.Context) ([]Flush, error) {
	if c.State == nil {
		return nil, errNoState
	}
	now := c.now()
	groups, err := c.Groups(ctx) // the readable ones, and what was not
	problems := []error{err}
	var out []Flush
	for _, g := range groups {
		if now.Before(g.NextFlush) {
			continue
		}
		// A group that fails is reported; the others still flush.
		cause, symptoms, anns, err := c.heldSymptoms(ctx, g)
		if err != nil {
			problems = append(problems, fmt.Errorf("group %s: %w", g.ID, err))
			continue
		}
		if cause != nil {
			held, err := c.holdGroup(ctx, g.ID, now)
			if err != nil || held {
				f := symptomFlush(g, cause)
				f.Announce = anns
				out = append(out, f)
			}
			if err != nil {
				problems = append(problems, fmt.Errorf("group %s: %w", g.ID, err))
			}
			continue
		}
		f, ok, err := c.flush(ctx, g.ID, now, symptoms)
		if err != nil {
			problems = append(problems, fmt.Errorf("group %s: %w", g.ID, err))
			continue
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, errors.Join(problems...)
}

func (c *Consolidator) flush(ctx context.Context, id string, now time.Time, symptoms map[string]bool) (Flush, bool, error) {
	var (
		g    *Group
		prev map[string]bool
		act  bool
	)
	_, err := state.Update(ctx, c.State, groupKey(id), func(it *state.Item, ok bool) (bool, error) {
		act = false
		if !ok {
			return false, nil
		}
		var err error
		if g, err = c.decodeGroup(ctx, it); err != nil {
			return false, err
		}
		if now.Before(g.NextFlush) {
			return false, nil // another caller took this flush
		}
		firing := g.Firing()
		if len(firing) == 0 {
			it.ExpiresAt = now
			return true, nil
		}
		changed := false
		for _, fp := range firing {
			changed = changed || !g.Notified[fp]
		}
		repeat := !g.LastFlush.IsZero() && !now.Before(g.LastFlush.Add(g.Config.RepeatInterval))
		if act = changed || repeat; act {
			prev = g.claim(now)
		} else {
			g.NextFlush = now.Add(g.Config.GroupInterval)
		}
		return true, encodeGroup(it, g)
	})
	if err != nil || !act {
		return Flush{}, false, err
	}
	fp, m := g.representative(prev, symptoms)
	f := Flush{Rule: g.Rule, Trigger: m.Trigger}
	for _, afp := range g.Firing() {
		mm := g.Members[afp]
		f.Alerts = append(f.Alerts, alert.Alert{Fingerprint: afp, Labels: mm.Labels, Status: mm.Status, At: mm.Since})
	}
	d := Decision{Fingerprint: fp, GroupKey: g.Key(), Target: targetOf(g.Config, m.Labels, g.ID),
		ExecutionKey: g.executionKey(), claim: groupClaim{group: g.ID, seq: g.Seq, prev: prev}}
	if d.Symptoms, err = c.symptomsOf(ctx, alert.Alert{Fingerprint: fp, Labels: m.Labels}, m.Trigger); err != nil {
		return f, true, err
	}
	if f.Decision, err = c.guarded(ctx, g.Config, d); err != nil {
		return f, true, err
	}
	if deferred(f.Decision) {
		err = c.unclaim(ctx, d.claim, g.NextFlush)
	}
	return f, true, err
}

// symptomFlush reports a due group held because all its alerts are
// symptoms of cause.
func symptomFlush(g *Group, cause *Cause) Flush {
	fp, m := g.representative(nil, nil)
	f := Flush{Rule: g.Rule, Decision: Decision{Reason: cause.String(), Symptom: cause, Fingerprint: fp, GroupKey: g.Key()}}
	if m != nil {
		f.Trigger = m.Trigger
	}
	for _, afp := range g.Firing() {
		mm := g.Members[afp]
		f.Alerts = append(f.Alerts, alert.Alert{Fingerprint: afp, Labels: mm.Labels, Status: mm.Status, At: mm.Since})
	}
	return f
}
