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
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
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
}

// Outcome is what happened for one rule and one trigger.
type Outcome struct {
	Rule      string `json:"rule"`
	Matched   bool   `json:"matched"`
	Execution string `json:"execution,omitempty"`
	// Duplicate is true when the execution had already been started for
	// this trigger (a redelivery).
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Handle evaluates one trigger and starts the action of every matching rule.
// A failure of one rule never stops the others; the errors are returned
// with the outcomes.
func (e *Engine) Handle(ctx context.Context, t trigger.Trigger) []Outcome {
	var outcomes []Outcome
	for _, ev := range e.Rules.Evaluate(t, e.KV) {
		e.log().Info("rule evaluated", "trigger", t.ID, "rule", ev.Rule.Ref, "matched", ev.Matched, "explain", ev.Explain())
		if !ev.Matched {
			continue
		}
		out := Outcome{Rule: ev.Rule.Ref, Matched: true}
		if ev.Err != nil {
			out.Error = ev.Err.Error()
		} else {
			out.Execution, out.Duplicate, out.Error = e.start(ctx, t, ev)
		}
		if out.Error != "" {
			e.log().Error("action not started", "trigger", t.ID, "rule", ev.Rule.Ref, "err", out.Error)
		}
		outcomes = append(outcomes, out)
	}
	return outcomes
}

func (e *Engine) start(ctx context.Context, t trigger.Trigger, ev rule.Evaluation) (id string, duplicate bool, errText string) {
	a, ok := e.Packs.Action(ev.Rule.Action.Ref)
	if !ok {
		return "", false, fmt.Sprintf("rule %s: action %q not found", ev.Rule.Ref, ev.Rule.Action.Ref)
	}
	if !a.Enabled {
		return "", false, fmt.Sprintf("rule %s: action %s is disabled", ev.Rule.Ref, a.Ref)
	}
	params, err := a.ResolveParams(ev.Params)
	if err != nil {
		return "", false, fmt.Sprintf("rule %s: action %s: %v", ev.Rule.Ref, a.Ref, err)
	}
	plan, err := action.Build(a, params, e.Settings)
	if err != nil {
		return "", false, err.Error()
	}
	rec := e.newRecord(t, ev, a, params, plan)
	switch err := e.Starter.Start(ctx, rec, plan.Input); {
	case errors.Is(err, execution.ErrExists):
		e.log().Info("duplicate delivery: execution already started", "execution", rec.ID)
		return rec.ID, true, ""
	case err != nil:
		return rec.ID, false, err.Error()
	}
	e.log().Info("execution started", "execution", rec.ID, "rule", ev.Rule.Ref, "action", a.Ref, "state_machine", plan.StateMachine)
	return rec.ID, false, ""
}

func (e *Engine) newRecord(t trigger.Trigger, ev rule.Evaluation, a *pack.Action, params map[string]any, plan action.Plan) *execution.Record {
	now := e.now()
	rec := &execution.Record{
		ID:           ExecutionName(ev.Rule.Ref, t.ID),
		StateMachine: plan.StateMachine,
		Rule:         ev.Rule.Ref,
		Action:       a.Ref,
		Trigger:      t,
		Params:       a.MaskSecrets(params),
		Started:      now,
	}
	rec.Add(now, "alert", alertName(t), alertDetail(t))
	rec.Add(now, "rule", ev.Rule.Ref, "matched")
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

func alertDetail(t trigger.Trigger) string {
	var parts []string
	for _, k := range []string{"state", "status", "reason"} {
		if v, ok := t.Payload[k].(string); ok && v != "" {
			parts = append(parts, v)
		}
	}
	return fmt.Sprintf("%s from %s: %s", t.Type, t.Source, strings.Join(parts, " — "))
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
