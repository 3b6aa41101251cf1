package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/target"
	"github.com/medic-sre/medic/internal/trigger"
)

// TargetKey is the payload key of an alert's resolved target: rules use
// `{{ trigger.target.instance_id }}` (docs/packs.md, "Targets").
const TargetKey = "target"

// errNoInstance: the alert carries no label naming an instance.
var errNoInstance = fmt.Errorf("%w: the alert names no instance (labels instance_id, instance; CloudWatch dimension InstanceId)", target.ErrNotFound)

// WithTarget is the trigger as the engine with resolver r evaluates rules
// on it: alerts carry `target` (for `medic rule test`).
func WithTarget(ctx context.Context, r target.Resolver, t trigger.Trigger) trigger.Trigger {
	t, _ = (&Engine{Targets: r}).resolveTarget(ctx, t)
	return t
}

// resolveTarget resolves the instance an alert names and returns the
// trigger with `target` in its payload (target.Payload), and the error of
// a resolution that failed. It runs for alerts only: their payloads are
// built by the sensors with fixed keys, so `target` is always Medic's own.
func (e *Engine) resolveTarget(ctx context.Context, t trigger.Trigger) (trigger.Trigger, error) {
	if !alert.IsAlert(t) {
		return t, nil
	}
	tg, err := e.lookupTarget(ctx, instanceLabel(t))
	if err == nil {
		tg.DependsOn = e.dependencyIDs(ctx, tg)
	}
	payload := make(map[string]any, len(t.Payload)+1)
	for k, v := range t.Payload {
		payload[k] = v
	}
	payload[TargetKey] = target.Payload(tg, err)
	t.Payload = payload
	return t, err
}

func (e *Engine) lookupTarget(ctx context.Context, label string) (target.Target, error) {
	if label == "" {
		return target.Target{}, errNoInstance
	}
	if e.Targets == nil {
		return target.Target{}, errors.New("no target resolver is configured")
	}
	a, err := target.ParseAddress(label)
	if err != nil {
		return target.Target{}, err
	}
	return e.Targets.Resolve(ctx, a)
}

// instanceLabel is what names the alert's instance: a Prometheus alert's
// instance_id label when it is an address (an instance id, localhost),
// else its instance label (what Prometheus scraped); a CloudWatch alarm's
// InstanceId dimension.
func instanceLabel(t trigger.Trigger) string {
	if t.Type == trigger.TypeCloudWatchAlarm {
		s, _ := t.Payload["instance_id"].(string)
		return s
	}
	labels, _ := t.Payload["labels"].(map[string]any)
	if id, _ := labels["instance_id"].(string); id != "" {
		if _, err := target.ParseAddress(id); err == nil {
			return id
		}
	}
	s, _ := labels["instance"].(string)
	return s
}

// dependencyIDs turns the target's medic:depends-on entries (instance
// ids, or names and addresses the resolver knows) into instance ids; an
// entry that resolves to nothing is dropped and logged, never guessed.
func (e *Engine) dependencyIDs(ctx context.Context, tg target.Target) []string {
	var ids []string
	for _, dep := range tg.DependsOn {
		d, err := e.lookupTarget(ctx, dep)
		if err != nil {
			e.log().Warn("medic:depends-on entry not resolved", "instance", tg.InstanceID, "entry", dep, "err", err)
			continue
		}
		if d.InstanceID != tg.InstanceID {
			ids = append(ids, d.InstanceID)
		}
	}
	return ids
}

// usesTarget reports whether a rule's action parameters read
// trigger.target: only those rules depend on the resolution.
func usesTarget(r *rule.Rule) bool {
	return mentions(r.Action.Parameters, "trigger."+TargetKey)
}

func mentions(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	}
	return false
}

// UnresolvedTarget says why a rule that uses trigger.target must not run
// for t, or "" when it may. A rule never runs on a guessed host.
func UnresolvedTarget(r *rule.Rule, t trigger.Trigger) string {
	if !alert.IsAlert(t) || !usesTarget(r) {
		return ""
	}
	p, _ := t.Payload[TargetKey].(map[string]any)
	if ok, _ := p["resolved"].(bool); ok {
		return ""
	}
	why, _ := p["error"].(string)
	if why == "" {
		why = "the alert's target was not resolved"
	}
	return "target unresolved: " + why
}

// refuseTarget holds (and escalates) a rule whose target is unresolved.
// A failure that a retry may fix (an EC2 API error) is an error instead,
// so the event source retries the delivery.
func (e *Engine) refuseTarget(ctx context.Context, ev rule.Evaluation, t trigger.Trigger, resolveErr error) (Outcome, bool) {
	why := UnresolvedTarget(ev.Rule, t)
	if why == "" {
		return Outcome{}, false
	}
	out := Outcome{Rule: ev.Rule.Ref, Matched: true}
	if resolveErr != nil && !target.Definitive(resolveErr) {
		out.Error = why
		return out, true
	}
	out.Held = why
	label := instanceLabel(t)
	if len(label) > 80 {
		label = label[:80] + "…"
	}
	if label == "" {
		label = alertName(t)
	}
	out.Escalation = e.escalate(ctx, ev.Rule.Ref, t, dispatch.Decision{Target: label, Reason: why})
	return out, true
}
