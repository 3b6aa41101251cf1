package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/metrics"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

// DefaultEscalationAction posts a message to the chat thread.
const DefaultEscalationAction = "core.notify"

// consolidate is Handle with a Consolidator: every trigger is observed
// (so resolutions close groups and `medic alerts` sees all alerts, matched
// or not), then each matching rule is admitted or held.
func (e *Engine) consolidate(ctx context.Context, t trigger.Trigger, matched []rule.Evaluation, resolveErr error) []Outcome {
	c := e.Consolidator
	if len(matched) == 0 {
		// Most of a storm matches nothing: write nothing for what no
		// decision will read (dispatch.MustObserveUnmatched says which).
		// A failed check observes, so a store failure is reported below.
		if must, err := c.MustObserveUnmatched(ctx, t); err == nil && !must {
			return nil
		}
	}
	obs, err := c.Observe(ctx, t)
	if err != nil {
		// Acting without the state would skip deduplication and the
		// guardrails: fail the rules instead, so the event source retries.
		e.log().Error("consolidation unavailable", "trigger", t.ID, "err", err)
		e.forget(ctx, t)
		var outcomes []Outcome
		for _, ev := range matched {
			out := Outcome{Rule: ev.Rule.Ref, Matched: true}
			out.fail(notRecorded("consolidation", err))
			outcomes = append(outcomes, e.logged(t, out))
		}
		if len(outcomes) == 0 {
			// No rule to act, but the alert was not recorded either (a
			// resolution not closing its group, `medic alerts` missing it).
			out := Outcome{}
			out.fail(notRecorded("consolidation", err))
			outcomes = append(outcomes, out)
		}
		return outcomes
	}
	if obs.Duplicate || obs.IsAlert && !obs.Changed && obs.Count > 1 {
		e.count(metrics.AlertsDeduplicated) // a redelivery, or a repeat of a firing alert
	}
	var outcomes []Outcome
	failed := false
	for _, ev := range matched {
		out, refused := e.refuseTarget(ctx, ev, t, resolveErr)
		if !refused {
			out = e.admit(ctx, obs, ev)
		}
		failed = failed || out.Error != ""
		outcomes = append(outcomes, e.logged(t, out))
	}
	switch {
	case failed:
		// The retry of this delivery must not be taken for a duplicate.
		e.forget(ctx, t)
	case !obs.Duplicate:
		// Dealt with: a redelivery is a duplicate from now on. Until this
		// write, a crash leaves the claim pending and a redelivery after
		// the grace takes it over.
		if err := c.Delivered(ctx, t); err != nil {
			e.log().Error("marking the delivery dealt with", "trigger", t.ID, "err", err)
		}
	}
	return outcomes
}

// admit asks the consolidator about one matching rule and starts it when
// granted.
func (e *Engine) admit(ctx context.Context, obs *dispatch.Observation, ev rule.Evaluation) Outcome {
	out := Outcome{Rule: ev.Rule.Ref, Matched: true}
	if ev.Err != nil {
		out.Error = ev.Err.Error()
		return out
	}
	if e.refuse(ctx, &out, obs.Trigger, ev) {
		return out
	}
	d, err := e.Consolidator.Admit(ctx, obs, e.Packs.Consolidation(ev.Rule.Ref))
	if err != nil {
		out.fail(notRecorded("consolidation", err))
		return out
	}
	if !d.Act {
		out.Held, out.Duplicate, out.SymptomOf = d.Reason, obs.Duplicate, d.Symptom
		e.announce(ctx, d)
		if d.Escalate {
			out.Escalation = e.escalate(ctx, ev.Rule.Ref, obs.Trigger, d)
		}
		return out
	}
	var err2 error
	out.Execution, out.Duplicate, err2 = e.launch(ctx, obs.Trigger, ev, d)
	out.fail(err2)
	return out
}

// Flush runs the consolidator's due group actions (call it every few
// seconds locally, every minute in AWS): each evaluates its rule on the
// group's representative alert and starts like a match would.
func (e *Engine) Flush(ctx context.Context) ([]Outcome, error) {
	if e.Consolidator == nil {
		return nil, nil
	}
	flushes, err := e.Consolidator.Due(ctx)
	outcomes := make([]Outcome, 0, len(flushes))
	for _, f := range flushes {
		outcomes = append(outcomes, e.logged(f.Trigger, e.flushOne(ctx, f)))
	}
	return outcomes, err
}

func (e *Engine) flushOne(ctx context.Context, f dispatch.Flush) Outcome {
	out := Outcome{Rule: f.Rule, Matched: true}
	if !f.Act {
		out.Held, out.SymptomOf = f.Reason, f.Symptom
		e.announce(ctx, f.Decision)
		if f.Escalate {
			out.Escalation = e.escalate(ctx, f.Rule, f.Trigger, f.Decision)
		}
		return out
	}
	r, ok := e.Packs.Rule(f.Rule)
	ev := rule.Evaluation{}
	if ok {
		ev = e.Rules.EvaluateRule(r, f.Trigger, e.KV)
	}
	// A rule removed or changed since the group formed: nothing to run,
	// and nothing failed. A target that was not resolved is never guessed.
	var why string
	switch {
	case !ok:
		why = "the rule is no longer loaded"
	case !ev.Fires():
		why = "the rule no longer matches the group's alert"
	default:
		why = UnresolvedTarget(r, f.Trigger)
	}
	if why != "" {
		out.Held = why
		if err := e.Consolidator.Release(ctx, *f.Lease, true); err != nil {
			out.Error = err.Error()
		}
		return out
	}
	if e.refuse(ctx, &out, f.Trigger, ev) {
		// Nothing ran and nothing failed: the target's turn is given back.
		if err := e.Consolidator.Release(ctx, *f.Lease, true); err != nil {
			out.Error = err.Error()
		}
		return out
	}
	var err error
	out.Execution, out.Duplicate, err = e.launch(ctx, f.Trigger, ev, f.Decision,
		execution.Step{Kind: "group", Name: f.GroupKey, Detail: fmt.Sprintf("%d alert(s) firing", len(f.Alerts))})
	out.fail(err)
	return out
}

// launch starts a granted decision's execution with its lease bound to
// the execution name, so whoever sees the execution end can release it.
func (e *Engine) launch(ctx context.Context, t trigger.Trigger, ev rule.Evaluation, d dispatch.Decision, origin ...execution.Step) (id string, duplicate bool, err error) {
	c := e.Consolidator
	name := ExecutionName(ev.Rule.Ref, d.ExecutionKey)
	origin = append(origin, execution.Step{Kind: "guard", Name: d.Target, Detail: d.Reason})
	if len(d.Symptoms) > 0 {
		origin = append(origin, symptomsStep(d.Symptoms))
	}
	if err := c.Bind(ctx, name, *d.Lease); err != nil {
		e.abandon(ctx, name, d)
		return name, false, notRecorded("consolidation", err)
	}
	id, duplicate, err = e.startRule(ctx, t, ev, name, origin...)
	switch {
	case err != nil:
		e.abandon(ctx, name, d)
	case duplicate:
		// The execution already ran under this name (a group action
		// claimed twice): this run's lease is not needed.
		if err := c.Finish(ctx, name, true); err != nil {
			e.log().Error("releasing a duplicate's lease", "execution", name, "err", err)
		}
	}
	return id, duplicate, err
}

func (e *Engine) abandon(ctx context.Context, name string, d dispatch.Decision) {
	if err := e.Consolidator.Abandon(ctx, name, d); err != nil {
		e.log().Error("giving back a failed start", "execution", name, "err", err)
	}
}

func (e *Engine) forget(ctx context.Context, t trigger.Trigger) {
	if err := e.Consolidator.Forget(ctx, t); err != nil {
		e.log().Error("forgetting the delivery for its retry", "trigger", t.ID, "err", err)
	}
}

// Finished is told that an execution ended (the local starter's done hook,
// Step Functions' status change event in AWS): its lease is released and
// the outcome feeds the circuit breaker.
func (e *Engine) Finished(ctx context.Context, execution string, succeeded bool) error {
	if e.Consolidator == nil {
		return nil
	}
	remediation, err := e.Consolidator.Ended(ctx, execution, succeeded)
	switch {
	case err != nil || !remediation:
	case succeeded:
		e.count(metrics.RemediationsSucceeded)
	default:
		e.count(metrics.RemediationsFailed)
	}
	return err
}

// escalate tells a human that automation stopped for rule on d.Target.
// The execution is named after the target and the reason, so each
// opening of a breaker is told once however many alerts arrive while it
// is open.
func (e *Engine) escalate(ctx context.Context, ruleRef string, t trigger.Trigger, d dispatch.Decision) string {
	msg := fmt.Sprintf("Medic stopped automatic remediation: rule %s on %s (alert %s): %s. A human needs to look.",
		ruleRef, d.Target, alertName(t), d.Reason)
	rec, err := e.tellHuman(ctx, ExecutionName("escalate."+ruleRef, d.Target+"\x00"+d.Reason), ruleRef, t, msg,
		execution.Step{Kind: "guard", Name: d.Target, Detail: d.Reason})
	if err != nil {
		e.log().Error("escalation not sent", "rule", ruleRef, "target", d.Target, "err", err)
		return ""
	}
	return rec.ID
}

// symptomsStep puts the alerts held as symptoms of this remediation's
// alert on its timeline: the root cause and its symptoms in one thread.
func symptomsStep(symptoms []string) execution.Step {
	const shown = 10
	detail := strings.Join(symptoms[:min(len(symptoms), shown)], "; ")
	if len(symptoms) > shown {
		detail += fmt.Sprintf("; and %d more", len(symptoms)-shown)
	}
	return execution.Step{Kind: "symptoms", Name: fmt.Sprintf("%d alert(s) held as symptoms of this root cause", len(symptoms)), Detail: detail}
}

// announce tells the root's remediations about a new symptom: the root
// cause and its symptoms read in one thread.
func (e *Engine) announce(ctx context.Context, d dispatch.Decision) {
	if e.Annotate == nil || d.Symptom == nil {
		return
	}
	for _, a := range d.Announce {
		for _, inc := range a.Incidents {
			e.Annotate(ctx, ExecutionName(inc.Rule, inc.ExecutionKey), execution.Step{
				Time: e.now(), Kind: "symptom", Name: a.Symptom, Detail: "held: " + d.Reason})
		}
	}
}
