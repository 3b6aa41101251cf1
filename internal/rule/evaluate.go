package rule

import (
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/template"
	"github.com/medic-sre/medic/internal/trigger"
)

// Index holds rules by trigger type.
type Index struct {
	byType map[string]*typeRules
	// Now is the clock of the timediff operators; nil means time.Now.
	Now func() time.Time
}

type typeRules struct {
	standard, backstop []*Rule
	// index narrows standard to the rules that may match a trigger.
	index discrimination
}

// NewIndex compiles the rules and indexes them by trigger type.
func NewIndex(rules []*Rule) *Index {
	ix := &Index{byType: map[string]*typeRules{}}
	for _, r := range rules {
		r.Compile()
		tr := ix.byType[r.TriggerType]
		if tr == nil {
			tr = &typeRules{}
			ix.byType[r.TriggerType] = tr
		}
		if r.IsBackstop() {
			tr.backstop = append(tr.backstop, r)
		} else {
			tr.standard = append(tr.standard, r)
		}
	}
	for _, tr := range ix.byType {
		tr.index = newDiscrimination(tr.standard)
	}
	return ix
}

// Evaluation is the outcome of one rule for one trigger.
type Evaluation struct {
	Rule *Rule
	// Matched reports that every criterion held. The rule fires only when
	// Matched is true and Err is nil.
	Matched  bool
	Criteria []CriterionResult
	// Params are the rendered action parameters (only when Matched); the
	// action's ResolveParams casts them to their declared types.
	Params map[string]any
	// Err is a problem that stops the rule from firing: a rule that does
	// not compile, a template that fails, an operator type error.
	Err error

	// full, set by Index.Evaluate when it stopped at the first failing
	// criterion, evaluates every criterion: Explain uses it, so the
	// explanation is complete but only paid for when asked.
	full func() Evaluation
}

// Fires reports whether the rule's action should run.
func (e Evaluation) Fires() bool { return e.Matched && e.Err == nil }

// CriterionResult explains one criterion.
type CriterionResult struct {
	Key      string
	Value    any  // the payload value found
	Found    bool // whether the key exists in the payload
	Operator string
	Pattern  any // the rendered pattern
	Matched  bool
	Err      error
	// Group is "any"/"all" for a group, whose members' results are in
	// Members (one list per member).
	Group   string
	Members [][]CriterionResult
	// Detail says more, e.g. how many items a search matched.
	Detail string
}

// Evaluate runs every enabled rule for t.Type that may match t (the
// discrimination index skips rules whose constant `equals` criterion
// cannot hold: see discriminate.go), then, when none of them fired, the
// backstop rules for t.Type. It returns one Evaluation per rule
// considered, in index order; EvaluateRule explains any one rule.
func (ix *Index) Evaluate(t trigger.Trigger, store kv.Reader) []Evaluation {
	tr := ix.byType[t.Type]
	if tr == nil {
		return nil
	}
	env := ix.env(t, store)
	candidates := tr.index.candidates(env.tctx.Trigger)
	out := make([]Evaluation, 0, len(candidates))
	fired := false
	for _, i := range candidates {
		r := tr.standard[i]
		if ok, _ := r.Accepts(t); !r.Enabled || !ok {
			continue
		}
		ev := env.evaluateShort(r)
		fired = fired || ev.Fires()
		out = append(out, ev)
	}
	if fired {
		return out
	}
	for _, r := range tr.backstop {
		if ok, _ := r.Accepts(t); r.Enabled && ok {
			out = append(out, env.evaluateShort(r))
		}
	}
	return out
}

// EvaluateRule evaluates one rule against t, enabled or not: the rule
// tester's view.
func (ix *Index) EvaluateRule(r *Rule, t trigger.Trigger, store kv.Reader) Evaluation {
	r.Compile()
	return ix.env(t, store).evaluate(r)
}

func (ix *Index) env(t trigger.Trigger, store kv.Reader) *evalEnv {
	now := time.Now
	if ix != nil && ix.Now != nil {
		now = ix.Now
	}
	return &evalEnv{tctx: template.NewContext(t.Payload, store), now: now(), trigger: t}
}

// evalEnv is everything shared by the rules evaluated for one trigger.
type evalEnv struct {
	tctx    template.Context
	now     time.Time
	trigger trigger.Trigger
}

// evaluateShort is evaluate stopping at the first criterion that does not
// hold (the hot path: most rules fail early); the full evaluation is kept
// for Explain.
func (env *evalEnv) evaluateShort(r *Rule) Evaluation {
	return env.evaluateMode(r, true)
}

func (env *evalEnv) evaluate(r *Rule) Evaluation { return env.evaluateMode(r, false) }

func (env *evalEnv) evaluateMode(r *Rule, short bool) Evaluation {
	ev := Evaluation{Rule: r}
	if ps := r.Compile(); len(ps) > 0 {
		ev.Err = Problems(ps)
		return ev
	}
	if ok, why := r.Accepts(env.trigger); !ok {
		ev.Err = errors.New(why)
		return ev
	}
	if short {
		var stopped bool
		ev.Matched, ev.Criteria, stopped = env.untilFailure(r.Criteria, env.tctx.Trigger, env.tctx)
		if stopped {
			ev.full = func() Evaluation { return env.evaluate(r) }
		}
	} else {
		ev.Matched, ev.Criteria = env.all(r.Criteria, env.tctx.Trigger, env.tctx)
	}
	if !ev.Matched {
		for _, c := range ev.Criteria {
			if err := firstErr(c); err != nil {
				ev.Err = fmt.Errorf("criteria: %w", err)
				break
			}
		}
		return ev
	}
	params, err := template.RenderValue(r.Action.Parameters, env.tctx)
	if err != nil {
		ev.Err = fmt.Errorf("action parameters: %w", err)
		return ev
	}
	if m, ok := params.(map[string]any); ok {
		ev.Params = m
	}
	return ev
}

func firstErr(c CriterionResult) error {
	if c.Err != nil {
		return c.Err
	}
	for _, m := range c.Members {
		for _, r := range m {
			if err := firstErr(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// all evaluates every criterion (no short cut, so the explanation covers
// them all) and reports whether all matched. root is what keys resolve
// against: the payload, or one item inside a search.
func (env *evalEnv) all(cs Criteria, root any, tctx template.Context) (bool, []CriterionResult) {
	ok := true
	results := make([]CriterionResult, len(cs))
	for i := range cs {
		results[i] = env.one(&cs[i], root, tctx)
		ok = ok && results[i].Matched
	}
	return ok, results
}

// untilFailure evaluates the criteria in order up to the first that does
// not hold; stopped reports that some were left unevaluated.
func (env *evalEnv) untilFailure(cs Criteria, root any, tctx template.Context) (ok bool, results []CriterionResult, stopped bool) {
	results = make([]CriterionResult, 0, len(cs))
	for i := range cs {
		res := env.one(&cs[i], root, tctx)
		results = append(results, res)
		if !res.Matched {
			return false, results, i < len(cs)-1
		}
	}
	return true, results, false
}

func (env *evalEnv) one(c *Criterion, root any, tctx template.Context) CriterionResult {
	if c.Group != "" {
		return env.group(c, root, tctx)
	}
	res := CriterionResult{Key: c.Key, Operator: c.op.name}
	res.Value, res.Found = lookup(root, c.segs)
	pattern, err := renderPattern(c.Pattern, tctx)
	if err != nil {
		res.Err = err
		return res
	}
	res.Pattern = pattern
	switch {
	case c.op.name == opSearch:
		res.Matched, res.Detail, res.Err = env.search(c, res.Value, tctx)
	case pattern == nil && !c.op.nullPatternOK:
		res.Detail = "null pattern never matches"
	default:
		res.Matched, res.Err = c.op.test(res.Value, pattern, env.now)
		if res.Err != nil && res.Value == nil {
			// Python raises a TypeError for most operators on None; for a
			// missing key that is just "no match", not a rule error.
			res.Err, res.Detail = nil, "no value to compare"
		}
	}
	if res.Err != nil {
		res.Err = fmt.Errorf("%s: %w", c.Key, res.Err)
	}
	return res
}

func renderPattern(p any, tctx template.Context) (any, error) {
	s, ok := p.(string)
	if !ok || !template.IsTemplate(s) {
		return p, nil
	}
	return template.Render(s, tctx)
}

func (env *evalEnv) group(c *Criterion, root any, tctx template.Context) CriterionResult {
	res := CriterionResult{Key: c.Key, Group: c.Group, Matched: c.Group == "all"}
	for _, m := range c.Members {
		ok, rs := env.all(m, root, tctx)
		res.Members = append(res.Members, rs)
		if c.Group == "any" {
			res.Matched = res.Matched || ok
		} else {
			res.Matched = res.Matched && ok
		}
	}
	return res
}

var errSearchNotList = errors.New("search needs a list value")

// search applies the nested item criteria to each element of the list
// value, with StackStorm's conditions: any (some item matches all
// criteria), all (every item matches all), any2any (some item matches some
// criterion), all2any (every item matches some criterion).
func (env *evalEnv) search(c *Criterion, value any, tctx template.Context) (bool, string, error) {
	items, ok := value.([]any)
	if !ok {
		return false, "", fmt.Errorf("%w, got %s", errSearchNotList, describe(value))
	}
	matchedItems := 0
	for _, item := range items {
		itemCtx := tctx
		itemCtx.Vars = map[string]any{"item": item}
		var hits int
		for i := range c.Search {
			if r := env.one(&c.Search[i], item, itemCtx); r.Matched {
				hits++
			}
		}
		switch c.Condition {
		case "any", "all":
			if hits == len(c.Search) {
				matchedItems++
			}
		case "any2any", "all2any":
			if hits > 0 {
				matchedItems++
			}
		}
	}
	detail := fmt.Sprintf("%d of %d items matched (condition %s)", matchedItems, len(items), c.Condition)
	switch c.Condition {
	case "any", "any2any":
		return matchedItems > 0, detail, nil
	default:
		return matchedItems == len(items), detail, nil
	}
}
