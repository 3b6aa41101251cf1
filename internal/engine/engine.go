// Package engine is the path of one alert: a trigger is matched against the
// rules of the packs, and every matching rule starts its action as a
// workflow execution. The Lambda ingest function and `medic serve` are two
// compositions of this one engine with different adapters.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/metrics"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/target"
	"github.com/medic-sre/medic/internal/trigger"
)

// Starter starts a workflow execution: Step Functions in AWS, the ASL
// interpreter locally. It returns execution.ErrExists when an execution of
// rec.ID was already started, which is how redeliveries are made harmless.
type Starter interface {
	Start(ctx context.Context, rec *execution.Record, input any) error
}

// Engine evaluates triggers and starts actions.
type Engine struct {
	Rules    *rule.Index
	Packs    *pack.Set
	KV       kv.Reader
	Starter  Starter
	Settings action.Settings
	Log      *slog.Logger
	Now      func() time.Time
	// Consolidator, when set, stands between a match and its start:
	// duplicates, silences, inhibitions, flapping, grouping and the guard
	// decide whether and when the rule acts (see consolidate.go). Without
	// it every match starts at once (the rule tester, `medic workflow`).
	Consolidator *dispatch.Consolidator
	// EscalationAction tells a human that automation stopped (a circuit
	// breaker opened); default core.notify with message and severity.
	EscalationAction string
	// Metrics counts alerts, remediations and escalations (EMF in Lambda);
	// nil counts nothing.
	Metrics metrics.Counter
	// Targets resolves the instance an alert names (a Prometheus instance
	// label) into `trigger.target` (target.go); nil resolves nothing, and
	// rules that use trigger.target are then refused.
	Targets target.Resolver
	// Annotate, when set, tells a running or finished execution's thread
	// (console, Slack) about a step after the fact: a new symptom of the
	// alert it remediates. nil tells nothing.
	Annotate func(ctx context.Context, executionID string, step execution.Step)
}

// Outcome is what happened for one rule and one trigger.
type Outcome struct {
	Rule      string `json:"rule"`
	Matched   bool   `json:"matched"`
	Execution string `json:"execution,omitempty"`
	// Duplicate is true when the execution had already been started for
	// this trigger (a redelivery).
	Duplicate bool `json:"duplicate,omitempty"`
	// Held says why consolidation did not act now: grouped and waiting,
	// silenced, inhibited, flapping, rate limited, target busy, circuit
	// open.
	Held string `json:"held,omitempty"`
	// Refused says why the run was refused while it was planned: its
	// parameters break the action's schema (an alert value that is not a
	// unit name, a path under a forbidden directory...) or no runner could
	// build it. Nothing ran and nothing will: unlike Error, the delivery
	// is not retried.
	Refused string `json:"refused,omitempty"`
	// Escalation is the execution that told a human automation stopped.
	Escalation string `json:"escalation,omitempty"`
	Error      string `json:"error,omitempty"`
	// Retry says the delivery was not durably recorded (the state store
	// could not write): the sender must send it again, so intake answers
	// 503 instead of 202.
	Retry bool `json:"retry,omitempty"`
	// SymptomOf is the root cause when the alert was held as a symptom of
	// a firing dependency (Held says "symptom of ...").
	SymptomOf *dispatch.Cause `json:"symptom_of,omitempty"`
}

// ErrNotRecorded marks a failure to record a delivery or a start: the
// same delivery, sent again, may succeed.
var ErrNotRecorded = errors.New("not recorded")

// fail records err on the outcome.
func (o *Outcome) fail(err error) {
	if err == nil {
		return
	}
	o.Error = err.Error()
	o.Retry = o.Retry || errors.Is(err, ErrNotRecorded)
}

// notRecorded wraps a state store failure as ErrNotRecorded.
func notRecorded(what string, err error) error {
	return fmt.Errorf("%s: %w: %w", what, ErrNotRecorded, err)
}

// Handle evaluates one trigger and starts the action of every matching rule.
// A failure of one rule never stops the others; the errors are returned
// with the outcomes.
func (e *Engine) Handle(ctx context.Context, t trigger.Trigger) []Outcome {
	t, resolveErr := e.resolveTarget(ctx, t)
	var matched []rule.Evaluation
	for _, ev := range e.Rules.Evaluate(t, e.KV) {
		// Debug, and the explanation built only if the record is kept: it
		// was most of a no-match trigger's CPU at Info.
		e.log().Debug("rule evaluated", "trigger", t.ID, "rule", ev.Rule.Ref, "matched", ev.Matched, "explain", lazyExplain{ev})
		if ev.Matched {
			matched = append(matched, ev)
		}
	}
	if alert.IsAlert(t) {
		e.count(metrics.AlertsReceived)
	}
	if e.Consolidator != nil {
		return e.consolidate(ctx, t, matched, resolveErr)
	}
	var outcomes []Outcome
	for _, ev := range matched {
		out := Outcome{Rule: ev.Rule.Ref, Matched: true}
		if refused, ok := e.refuseTarget(ctx, ev, t, resolveErr); ok {
			outcomes = append(outcomes, e.logged(t, refused))
			continue
		}
		switch {
		case ev.Err != nil:
			out.Error = ev.Err.Error()
		case e.refuse(ctx, &out, t, ev):
		default:
			var err error
			out.Execution, out.Duplicate, err = e.startRule(ctx, t, ev, ExecutionName(ev.Rule.Ref, t.ID))
			out.fail(err)
		}
		outcomes = append(outcomes, e.logged(t, out))
	}
	return outcomes
}

// logged logs an outcome worth an operator's attention and returns it.
func (e *Engine) logged(t trigger.Trigger, out Outcome) Outcome {
	switch {
	case out.Error != "":
		e.log().Error("action not started", "trigger", t.ID, "rule", out.Rule, "err", out.Error)
	case out.Refused != "":
		e.log().Warn("run refused", "trigger", t.ID, "rule", out.Rule, "reason", out.Refused)
	case out.Held != "":
		e.log().Info("action held", "trigger", t.ID, "rule", out.Rule, "reason", out.Held, "escalation", out.Escalation)
	}
	return out
}

// startRule starts the action of a matched rule as execution name.
func (e *Engine) startRule(ctx context.Context, t trigger.Trigger, ev rule.Evaluation, name string, origin ...execution.Step) (id string, duplicate bool, err error) {
	steps := append([]execution.Step{alertStep(t), {Kind: "rule", Name: ev.Rule.Ref, Detail: "matched"}}, origin...)
	_, dup, err := e.StartAction(ctx, Run{Name: name, Rule: ev.Rule.Ref, Action: ev.Rule.Action.Ref, Params: ev.Params, Trigger: t, Origin: steps,
		Admitted: true}) // consolidation admitted it (launch), or there is none (Handle)
	if err != nil {
		return name, false, fmt.Errorf("rule %s: %w", ev.Rule.Ref, err)
	}
	if !dup {
		e.count(metrics.RemediationsStarted)
	}
	return name, dup, nil
}

// Run is one action run to start: by a rule for a trigger, by a person
// in chat, by `medic run`.
type Run struct {
	// Name is the execution's name; deterministic in what asked for the
	// run, so a redelivery maps to the execution already started.
	Name   string
	Rule   string // the rule that matched, "" when none did
	Action string
	// Params are as given (rendered by the rule, typed in chat); the
	// action's schema resolves and checks them here.
	Params  map[string]any
	Trigger trigger.Trigger
	// Origin are the steps that led to the run (the alert, the rule, who
	// asked in chat), recorded before the action's own.
	Origin []execution.Step
	// Admitted says the guard was already asked: a rule run consolidation
	// granted (its lease is bound to Name), or Medic telling a human that
	// the guard stopped automation. Every other run (chat, `medic run`)
	// is admitted by StartAction itself, with the same leases, rate
	// limits and breakers as rule runs.
	Admitted bool
}

// PlanRefusedError is a run refused while it was planned, before anything
// ran: its parameters break the action's schema (each problem names the
// parameter and the constraint) or no runner could build it. Asking again
// with the same parameters is refused the same way.
type PlanRefusedError struct{ Err error }

func (e *PlanRefusedError) Error() string { return e.Err.Error() }
func (e *PlanRefusedError) Unwrap() error { return e.Err }

// plan resolves r's parameters against its action and builds the workflow
// input; a refusal is a *PlanRefusedError.
func (e *Engine) plan(r Run) (*pack.Action, map[string]any, action.Plan, error) {
	a, ok := e.Packs.Action(r.Action)
	if !ok {
		return nil, nil, action.Plan{}, fmt.Errorf("action %q not found", r.Action)
	}
	if !a.Enabled {
		return nil, nil, action.Plan{}, fmt.Errorf("action %s is disabled", a.Ref)
	}
	params, err := a.ResolveParams(r.Params)
	if err != nil {
		return nil, nil, action.Plan{}, &PlanRefusedError{fmt.Errorf("action %s: %w", a.Ref, err)}
	}
	plan, err := action.Build(a, params, e.Settings)
	if err != nil {
		return nil, nil, action.Plan{}, &PlanRefusedError{err}
	}
	return a, params, plan, nil
}

// refuse plans a matched rule's run before consolidation grants it a lease
// or a group: a run that would be refused is recorded as refused on out
// (true), never takes a turn on its target, and is told to a human once
// per alert and reason. A refused alert is still a real alert (a root
// disk that is full, a unit that failed): dropping it silently would hide
// it, and the message is escaped like every alert text.
func (e *Engine) refuse(ctx context.Context, out *Outcome, t trigger.Trigger, ev rule.Evaluation) bool {
	var refused *PlanRefusedError
	if _, _, _, err := e.plan(Run{Action: ev.Rule.Action.Ref, Params: ev.Params}); !errors.As(err, &refused) {
		return false
	}
	out.Refused = refused.Error()
	msg := fmt.Sprintf("Medic refused to run %s for rule %s (alert %s): %s. Nothing ran. A human needs to look.",
		ev.Rule.Action.Ref, ev.Rule.Ref, alertName(t), out.Refused)
	name := ExecutionName("escalate.refused."+ev.Rule.Ref, alertIdentity(t)+"\x00"+out.Refused)
	rec, err := e.tellHuman(ctx, name, ev.Rule.Ref, t, msg, execution.Step{Kind: "refused", Name: ev.Rule.Action.Ref, Detail: out.Refused})
	if err != nil {
		e.log().Error("escalation not sent", "rule", ev.Rule.Ref, "err", err)
	} else {
		out.Escalation = rec.ID
	}
	return true
}

// alertIdentity names the alert t is about, so repeats of one alert share
// it: Medic's own label hash, or the delivery for what is not an alert.
func alertIdentity(t trigger.Trigger) string {
	if a, err := alert.FromTrigger(t); err == nil {
		return a.Fingerprint
	}
	return t.ID
}

// tellHuman starts the escalation action (core.notify by default) with msg
// at severity critical, as execution name: a name per reason makes each
// reason told once however many deliveries repeat it. The guard never
// refuses it, since it is Medic asking a human because automation stopped.
func (e *Engine) tellHuman(ctx context.Context, name, ruleRef string, t trigger.Trigger, msg string, why execution.Step) (*execution.Record, error) {
	ref := e.EscalationAction
	if ref == "" {
		ref = DefaultEscalationAction
	}
	rec, dup, err := e.StartAction(ctx, Run{
		Name: name, Rule: ruleRef, Action: ref, Trigger: t, Admitted: true,
		Params: map[string]any{"message": msg, "severity": "critical"},
		Origin: []execution.Step{alertStep(t), why},
	})
	if err != nil {
		return nil, fmt.Errorf("escalation through %s not sent: %w", ref, err)
	}
	if !dup {
		e.count(metrics.Escalations)
	}
	return rec, nil
}

// StartAction resolves r's parameters against its action, builds the
// workflow input and starts it. duplicate reports that an execution of
// r.Name already existed (nothing new was started). Parameters the action's
// schema refuses return a *PlanRefusedError naming each parameter and the
// constraint it breaks, and nothing starts; a run the guardrails refuse
// returns a *RefusedError.
func (e *Engine) StartAction(ctx context.Context, r Run) (rec *execution.Record, duplicate bool, err error) {
	a, params, plan, err := e.plan(r)
	if err != nil {
		return nil, false, err
	}
	done, err := e.admitRun(ctx, r, a, params)
	if err != nil {
		return nil, false, err
	}
	rec = e.newRecord(r, a, params, plan)
	err = e.Starter.Start(ctx, rec, plan.Input)
	done(err == nil)
	switch {
	case errors.Is(err, execution.ErrExists):
		e.log().Info("duplicate delivery: execution already started", "execution", rec.ID)
		return rec, true, nil
	case err != nil:
		return rec, false, notRecorded("starting execution "+rec.ID, err)
	}
	e.log().Info("execution started", "execution", rec.ID, "rule", r.Rule, "action", a.Ref, "state_machine", plan.StateMachine)
	return rec, false, nil
}

func (e *Engine) newRecord(r Run, a *pack.Action, params map[string]any, plan action.Plan) *execution.Record {
	now := e.now()
	rec := &execution.Record{
		ID:           r.Name,
		StateMachine: plan.StateMachine,
		Rule:         r.Rule,
		Action:       a.Ref,
		Trigger:      r.Trigger,
		Params:       a.MaskSecrets(params),
		Started:      now,
	}
	for _, s := range r.Origin {
		rec.Add(now, s.Kind, s.Name, s.Detail)
	}
	rec.Add(now, "action", a.Ref, fmt.Sprintf("%v", rec.Params))
	return rec
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// ExecutionName is deterministic in the rule and the trigger delivery, so a
// redelivered alert maps to the execution already started (Step Functions
// refuses a second execution of the same name). Names are at most 80
// characters of [A-Za-z0-9_-].
func ExecutionName(ruleRef, triggerID string) string {
	sum := sha256.Sum256([]byte(ruleRef + "\x00" + triggerID))
	prefix := strings.Trim(unsafeName.ReplaceAllString(ruleRef, "-"), "-")
	if len(prefix) > 59 {
		prefix = prefix[:59]
	}
	return prefix + "-" + hex.EncodeToString(sum[:10])
}

func alertName(t trigger.Trigger) string {
	for _, k := range []string{"alarm_name", "alertname", "url"} {
		if v, ok := t.Payload[k].(string); ok && v != "" {
			return v
		}
	}
	if labels, ok := t.Payload["labels"].(map[string]any); ok {
		if v, ok := labels["alertname"].(string); ok {
			return v
		}
	}
	return t.Type
}

// alertStep is the first step of a timeline: the alert that led to it.
func alertStep(t trigger.Trigger) execution.Step {
	return execution.Step{Kind: "alert", Name: alertName(t), Detail: alertDetail(t)}
}

func alertDetail(t trigger.Trigger) string {
	var parts []string
	for _, k := range []string{"state", "status", "reason"} {
		if v, ok := t.Payload[k].(string); ok && v != "" {
			parts = append(parts, v)
		}
	}
	return fmt.Sprintf("%s from %s: %s", t.Type, t.Source, strings.Join(parts, " — "))
}

func (e *Engine) count(name string) {
	if e.Metrics != nil {
		e.Metrics.Add(name, 1)
	}
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// lazyExplain defers Evaluation.Explain until a handler formats the record.
type lazyExplain struct{ ev rule.Evaluation }

func (l lazyExplain) LogValue() slog.Value { return slog.StringValue(l.ev.Explain()) }
