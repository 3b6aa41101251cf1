package coverage

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
)

// HandlingUndeclared is reported for an action that neither declares
// `handling` nor runs a state machine whose handling is known.
const HandlingUndeclared = "undeclared"

// handlingByMachine is the handling implied by the state machine a plan
// starts, for actions that do not declare one.
var handlingByMachine = map[string]string{
	action.MachineRemediation: pack.HandlingAuto,     // diagnose, remediate, verify, escalate on failure
	"ask-approval":            pack.HandlingApproval, // nothing happens until a person approves
	"notify":                  pack.HandlingEvidence, // tells a person, changes nothing
}

// Match is one rule that matched an entry's event.
type Match struct {
	Rule     string `json:"rule"`
	Backstop bool   `json:"backstop,omitempty"`
	Action   string `json:"action"`
	// StateMachine is what the plan would start; "" when planning failed.
	StateMachine string `json:"state_machine,omitempty"`
	// Handling is the action's `handling`, else the one its state machine
	// implies, else HandlingUndeclared.
	Handling string `json:"handling,omitempty"`
	// Error is why the action would not start: a template that failed,
	// parameters the action refuses, a plan that cannot be built.
	Error string `json:"error,omitempty"`
}

// Planned reports whether the match's action would start.
func (m Match) Planned() bool { return m.Error == "" }

// Result is what the packs do with one catalog entry.
type Result struct {
	Entry *Entry `json:"entry"`
	// Refused is the sensor's refusal of the synthesised event; a
	// refused entry cannot be handled (and means the catalog or the
	// synthesis is wrong).
	Refused string  `json:"refused,omitempty"`
	Matches []Match `json:"matches"`
	// Handled: a rule matched and its action plans without error.
	Handled bool `json:"handled"`
	// Handling is that of the first planned match, "" when not handled.
	Handling string `json:"handling,omitempty"`
	// AsExpected: handled, with the handling the catalog expects.
	AsExpected bool `json:"as_expected"`
}

// Evaluate runs every entry of c through Medic's path up to planning with
// the packs of set: sensor.Parse, the rule engine, the action's parameter
// schema and action.Build. Nothing is executed.
func Evaluate(c *Catalog, set *pack.Set) ([]Result, error) {
	plans := &planRecorder{plans: map[string]*execution.Record{}}
	eng := &engine.Engine{
		Rules:    rule.NewIndex(set.Rules()),
		Packs:    set,
		KV:       kv.Map{}, // an empty datastore: coverage must not depend on this machine's state
		Starter:  plans,
		Settings: action.Settings{PollSeconds: 10},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	results := make([]Result, len(c.Alerts))
	for i := range c.Alerts {
		r, err := evaluateEntry(eng, plans, set, &c.Alerts[i])
		if err != nil {
			return nil, err
		}
		results[i] = r
	}
	return results, nil
}

func evaluateEntry(eng *engine.Engine, plans *planRecorder, set *pack.Set, e *Entry) (Result, error) {
	res := Result{Entry: e, Matches: []Match{}}
	body, hint, err := Event(e)
	if err != nil {
		return res, err
	}
	triggers, err := sensor.Parse(body, sensor.Request{Hint: hint})
	switch {
	case err != nil:
		res.Refused = err.Error()
		return res, nil
	case len(triggers) != 1:
		res.Refused = fmt.Sprintf("the event gave %d triggers, want 1", len(triggers))
		return res, nil
	}
	for _, out := range eng.Handle(context.Background(), triggers[0]) {
		m := match(set, plans, out)
		res.Matches = append(res.Matches, m)
		if m.Planned() && !res.Handled {
			res.Handled, res.Handling = true, m.Handling
		}
	}
	res.AsExpected = res.Handled && res.Handling == e.Expect
	return res, nil
}

// match describes one engine outcome: the rule, its action and the plan the
// recorder kept for it.
func match(set *pack.Set, plans *planRecorder, out engine.Outcome) Match {
	m := Match{Rule: out.Rule, Error: out.Error}
	if out.Refused != "" { // planning refused the parameters: nothing would start
		m.Error = "rule " + out.Rule + ": " + out.Refused
	}
	r, ok := set.Rule(out.Rule)
	if ok {
		m.Backstop, m.Action = r.IsBackstop(), r.Action.Ref
	}
	if m.Error != "" {
		return m
	}
	rec := plans.plans[out.Execution]
	if rec == nil {
		m.Error = "no plan was recorded for execution " + out.Execution
		return m
	}
	m.StateMachine = rec.StateMachine
	m.Handling = handlingOf(set, rec.Action, rec.StateMachine)
	return m
}

func handlingOf(set *pack.Set, actionRef, machine string) string {
	if a, ok := set.Action(actionRef); ok && a.Handling != "" {
		return a.Handling
	}
	if h, ok := handlingByMachine[machine]; ok {
		return h
	}
	return HandlingUndeclared
}

// planRecorder is the engine's Starter here: it keeps each planned
// execution instead of starting it.
type planRecorder struct{ plans map[string]*execution.Record }

func (p *planRecorder) Start(_ context.Context, rec *execution.Record, _ any) error {
	p.plans[rec.ID] = rec
	return nil
}
