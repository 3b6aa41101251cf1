package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/execution"
)

// ReplayInput rebuilds the workflow input of an execution a rule started,
// from what its record keeps: the rule evaluated again on the recorded
// trigger. Secrets are never in a record, so this is the only way to run
// it again. It fails when the rule is gone, no longer matches, or now
// starts a different workflow: then the execution cannot be resumed.
func (e *Engine) ReplayInput(rec *execution.Record) (any, error) {
	if rec.Rule == "" {
		return nil, errors.New("no rule started it (a chat or CLI run): its parameters are not kept")
	}
	r, ok := e.Packs.Rule(rec.Rule)
	if !ok {
		return nil, fmt.Errorf("rule %s is no longer loaded", rec.Rule)
	}
	ev := e.Rules.EvaluateRule(r, rec.Trigger, e.KV)
	if !ev.Fires() {
		return nil, fmt.Errorf("rule %s no longer matches the alert", rec.Rule)
	}
	a, ok := e.Packs.Action(rec.Action)
	if !ok || ev.Rule.Action.Ref != rec.Action {
		return nil, fmt.Errorf("rule %s no longer runs action %s", rec.Rule, rec.Action)
	}
	params, err := a.ResolveParams(ev.Params)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	plan, err := action.Build(a, params, e.Settings)
	if err != nil {
		return nil, err
	}
	if plan.StateMachine != rec.StateMachine {
		return nil, fmt.Errorf("action %s now runs workflow %s, not %s", a.Ref, plan.StateMachine, rec.StateMachine)
	}
	return plan.Input, nil
}

// Interrupted handles an execution that will not finish (its process died
// and it cannot safely run again): a human is told through the escalation
// action, once per execution however often recovery runs, and
// consolidation is told it ended as a failure, so its target's lease is
// released and the breaker counts it. The caller then records it FAILED;
// this order makes a crash during recovery repeat nothing twice.
func (e *Engine) Interrupted(ctx context.Context, rec *execution.Record, reason string) (escalation string, err error) {
	msg := fmt.Sprintf("Medic could not finish execution %s (rule %s, action %s, alert %s): %s. A human needs to look.",
		rec.ID, orDash(rec.Rule), rec.Action, alertName(rec.Trigger), reason)
	esc, serr := e.tellHuman(ctx, ExecutionName("escalate.interrupted", rec.ID), rec.Rule, rec.Trigger, msg,
		execution.Step{Kind: "recover", Name: rec.ID, Detail: reason})
	if esc != nil {
		escalation = esc.ID
	}
	return escalation, errors.Join(serr, e.Finished(ctx, rec.ID, false))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
