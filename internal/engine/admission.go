package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/pack"
)

// RefusedError is a run the guardrails refused: nothing started. Reason is
// the guard's ("rate limited: 3 runs on this target in 10m0s (limit 3)").
type RefusedError struct {
	Action string
	Target string
	Reason string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// targetParams name the parameters that say what a run acts on, as the
// runners read them: remediation's target, the workflows' instance_id and
// group, the shell runners' hosts, instance_ids and targets.
var targetParams = []string{"target", "instance_id", "instance_ids", "hosts", "group", "targets"}

// RunTargets are the targets a run of a with params acts on: the values of
// its target parameters, localhost for a local command without hosts, and
// otherwise the action itself ("action:REF"), so even a run without a
// target is rate limited.
func RunTargets(a *pack.Action, params map[string]any) []string {
	seen := map[string]bool{}
	for _, name := range targetParams {
		for _, v := range targetValues(params[name], listParams[name]) {
			seen[v] = true
		}
	}
	if len(seen) == 0 && a.RunnerType == action.RunnerLocalShellCmd {
		seen[action.LocalTarget] = true
	}
	if len(seen) == 0 {
		seen[runKey(a)] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out) // leases are always taken in one order: no deadlock between two runs
	return out
}

// listParams take st2's comma-separated lists in a string; the others
// (a tag filter "tag:Role=web,api" among them) are one target each.
var listParams = map[string]bool{"hosts": true, "instance_ids": true}

// targetValues reads a string (split at commas when commaList), or a list.
func targetValues(v any, commaList bool) []string {
	var raw []string
	switch x := v.(type) {
	case string:
		raw = []string{x}
		if commaList {
			raw = strings.Split(x, ",")
		}
	case []any:
		for _, e := range x {
			raw = append(raw, fmt.Sprint(e))
		}
	case []string:
		raw = x
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func runKey(a *pack.Action) string { return "action:" + a.Ref }

// admitRun puts a run that no rule's consolidation admitted (chat, `medic
// run`) through the same guard: a lease on every target, the action's
// rate limit and breaker on each target, and the breakers of the rules
// that run the action. The leases are bound to the run's execution name,
// so its end releases them exactly as a rule run's. A retry of a run
// already admitted (its name is bound) is let through to the starter,
// which maps it to the execution already started. done must be called
// with whether the execution started.
func (e *Engine) admitRun(ctx context.Context, r Run, a *pack.Action, params map[string]any) (done func(started bool), err error) {
	c := e.Consolidator
	noop := func(bool) {}
	if c == nil || r.Admitted {
		return noop, nil
	}
	if bound, err := c.Bound(ctx, r.Name); err != nil || bound {
		return noop, err
	}
	targets := RunTargets(a, params)
	if why := unguardable(targets); why != "" {
		return nil, &RefusedError{Action: a.Ref, Reason: why}
	}
	leases, d, err := c.AdmitRun(ctx, dispatch.RunAdmission{Key: runKey(a), Limits: guard.DefaultLimits,
		Targets: targets, Rules: e.rulesRunning(a.Ref)})
	if err != nil {
		return nil, fmt.Errorf("guard unavailable, nothing started: %w", err)
	}
	if !d.Act {
		e.log().Info("run refused", "execution", r.Name, "action", a.Ref, "target", d.Target, "reason", d.Reason)
		return nil, &RefusedError{Action: a.Ref, Target: d.Target, Reason: d.Reason}
	}
	if err := c.BindAll(ctx, r.Name, leases); err != nil {
		return nil, errors.Join(err, c.Cancel(ctx, leases))
	}
	return func(started bool) {
		if started {
			return
		}
		if err := errors.Join(c.Unbind(ctx, r.Name), c.Cancel(ctx, leases)); err != nil {
			e.log().Error("giving back the leases of a run that did not start", "execution", r.Name, "err", err)
		}
	}, nil
}

// Bounds on what a run may ask the guard for: every target is a lease and
// a key in the state table (DynamoDB keys hold at most 1 KiB).
const (
	maxRunTargets   = 50
	maxTargetLength = 256
)

// unguardable says why the guard cannot take these targets, or "".
func unguardable(targets []string) string {
	if len(targets) > maxRunTargets {
		return fmt.Sprintf("%d targets in one run (limit %d)", len(targets), maxRunTargets)
	}
	for _, t := range targets {
		if len(t) > maxTargetLength {
			return fmt.Sprintf("a target name of %d bytes (limit %d)", len(t), maxTargetLength)
		}
	}
	return ""
}

// rulesRunning are the consolidation configs of the rules whose action is
// ref.
func (e *Engine) rulesRunning(ref string) []dispatch.Config {
	var out []dispatch.Config
	for _, r := range e.Packs.Rules() {
		if r.Action.Ref == ref {
			out = append(out, e.Packs.Consolidation(r.Ref))
		}
	}
	return out
}
