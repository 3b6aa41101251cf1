package asl

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	jsonata "github.com/blues/jsonata-go"

	"github.com/medic-sre/medic/internal/asl/intrinsic"
)

// ErrQueryEvaluation is raised when a JSONata expression fails or yields
// nothing (undefined).
const ErrQueryEvaluation = "States.QueryEvaluationError"

// jtemplate is a JSON value of a JSONata state (Arguments, Output, Assign
// values, Items, ...) in which every string "{% expr %}" is a JSONata
// expression and everything else is literal.
type jtemplate interface {
	evalJ(b *bindings) (any, *Error)
}

type jObject struct {
	keys []string
	vals []jtemplate
}

type jArray []jtemplate

type jConst struct{ v any }

type jExpr struct {
	src  string
	expr *jsonata.Expr
}

// bindings are what a JSONata expression sees: $states (input, context and,
// where defined, result or errorOutput) and the workflow variables.
type bindings struct {
	states map[string]any
	vars   map[string]any
}

// isExpr tells whether s is a JSONata expression string "{% ... %}".
func isExpr(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{%") && strings.HasSuffix(t, "%}") && len(t) >= 4 {
		return strings.TrimSpace(t[2 : len(t)-2]), true
	}
	return "", false
}

func compileJ(v any, where string) (jtemplate, error) {
	switch v := v.(type) {
	case string:
		src, ok := isExpr(v)
		if !ok {
			return jConst{v}, nil
		}
		e, err := jsonata.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("%sJSONata %q: %v", where, src, err)
		}
		return &jExpr{src: src, expr: e}, nil
	case map[string]any:
		t := &jObject{}
		for _, k := range sortedKeys(v) {
			sub, err := compileJ(v[k], where+k+": ")
			if err != nil {
				return nil, err
			}
			t.keys, t.vals = append(t.keys, k), append(t.vals, sub)
		}
		return t, nil
	case []any:
		t := make(jArray, len(v))
		for i, item := range v {
			sub, err := compileJ(item, fmt.Sprintf("%s[%d]: ", where, i))
			if err != nil {
				return nil, err
			}
			t[i] = sub
		}
		return t, nil
	}
	return jConst{v}, nil
}

func (t *jObject) evalJ(b *bindings) (any, *Error) {
	out := make(map[string]any, len(t.keys))
	for i, k := range t.keys {
		v, err := t.vals[i].evalJ(b)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func (t jArray) evalJ(b *bindings) (any, *Error) {
	out := make([]any, len(t))
	for i, sub := range t {
		v, err := sub.evalJ(b)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (t jConst) evalJ(*bindings) (any, *Error) { return deepCopy(t.v), nil }

// evalJ runs the expression on a private copy: jsonata-go keeps variables
// in the compiled expression, and executions (and Map items) run
// concurrently. The compiled original never gets a registry of its own, so
// each copy starts a fresh one.
func (e *jExpr) evalJ(b *bindings) (any, *Error) {
	run := *e.expr
	if err := run.RegisterExts(sfnFunctions); err != nil {
		return nil, errorf(ErrQueryEvaluation, "%s: %v", e.src, err)
	}
	vars := make(map[string]any, len(b.vars)+1)
	for k, v := range b.vars {
		vars[k] = v
	}
	vars["states"] = b.states
	if err := run.RegisterVars(vars); err != nil {
		return nil, errorf(ErrQueryEvaluation, "%s: %v", e.src, err)
	}
	out, err := evalGuarded(&run, b.states["input"])
	switch {
	case errors.Is(err, jsonata.ErrUndefined):
		return nil, errorf(ErrQueryEvaluation, "the JSONata expression %q returned no value (undefined)", e.src)
	case err != nil:
		return nil, errorf(ErrQueryEvaluation, "the JSONata expression %q failed: %v", e.src, err)
	}
	norm, nerr := normalize(out)
	if nerr != nil {
		return nil, errorf(ErrQueryEvaluation, "the JSONata expression %q returned a non-JSON value: %v", e.src, nerr)
	}
	return norm, nil
}

// evalGuarded runs a JSONata expression, turning a panic inside the
// library (a bug in jsonata-go on some input) into an
// error: one bad expression fails its state (States.QueryEvaluationError,
// catchable), never the process and every execution in it.
func evalGuarded(run *jsonata.Expr, input any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the JSONata library panicked: %v", r)
		}
	}()
	return run.Eval(input)
}

// sfnFunctions are the functions Step Functions adds to JSONata.
var sfnFunctions = map[string]jsonata.Extension{
	"partition": {Func: func(a []any, size float64) (any, error) { return intrinsic.Apply("States.ArrayPartition", a, size) }},
	"range": {Func: func(start, end, step float64) (any, error) {
		return intrinsic.Apply("States.ArrayRange", start, end, step)
	}},
	"hash":  {Func: func(data, alg string) (any, error) { return intrinsic.Apply("States.Hash", data, alg) }},
	"parse": {Func: func(s string) (any, error) { return intrinsic.Apply("States.StringToJson", s) }},
	"uuid":  {Func: func() (any, error) { return intrinsic.Apply("States.UUID") }},
	"random": {Func: func(seed ...float64) float64 {
		if len(seed) > 0 {
			return rand.New(rand.NewPCG(uint64(seed[0]), 0)).Float64()
		}
		return rand.Float64()
	}},
}
