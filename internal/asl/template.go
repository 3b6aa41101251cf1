package asl

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/medic-sre/medic/internal/asl/intrinsic"
	"github.com/medic-sre/medic/internal/asl/jsonorder"
	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

// env is what paths and intrinsics are evaluated against: the state's
// (effective) input as $, the context object as $$ (built only when used)
// and the workflow variables as $name, as they were when the state began.
type env struct {
	input   any
	context func() map[string]any
	vars    map[string]any
}

// expr is a path into $, $$ or a variable ($name...), or an intrinsic
// function call.
type expr struct {
	src      string
	path     *jsonpath.Path
	context  bool
	variable string // the variable a $name... path reads; path is the rest
	call     *intrinsic.Call
}

func compileExpr(s string, allowIntrinsic bool) (*expr, error) {
	e := &expr{src: s}
	switch {
	case intrinsic.IsCall(s):
		if !allowIntrinsic {
			return nil, fmt.Errorf("%q: intrinsic functions are not allowed here", s)
		}
		c, err := intrinsic.Parse(s)
		if err != nil {
			return nil, err
		}
		e.call = c
		return e, nil
	case strings.HasPrefix(s, "$$"):
		e.context = true
		s = s[1:]
	case !strings.HasPrefix(s, "$"):
		return nil, fmt.Errorf("%q is not a JSONPath (must start with $, $$ or $variable)", s)
	default:
		if name, rest, ok := jsonpath.SplitVariable(s); ok {
			e.variable, s = name, rest
		}
	}
	p, err := jsonpath.Parse(s)
	if err != nil {
		return nil, err
	}
	e.path = p
	return e, nil
}

// eval resolves the expression. A path that matches nothing is
// States.Runtime; a failing intrinsic is States.IntrinsicFailure.
func (e *expr) eval(en *env) (any, *Error) {
	if e.call != nil {
		v, err := e.call.Eval(en.resolve)
		if err == nil {
			return v, nil
		}
		var aerr *Error
		if errors.As(err, &aerr) {
			return nil, aerr
		}
		return nil, errorf(ErrIntrinsicFailure, "%s: %v", e.src, err)
	}
	v, err := en.resolve(intrinsic.Ref{Path: e.path, Context: e.context, Variable: e.variable})
	if err != nil {
		return nil, err.(*Error)
	}
	return v, nil
}

// resolve reads a path from the input, the context object or a variable.
// Anything missing is States.Runtime, like any path that matches nothing.
func (en *env) resolve(ref intrinsic.Ref) (any, error) {
	root, name, where := en.input, ref.Path.String(), "input"
	switch {
	case ref.Context:
		root, name, where = any(en.context()), "$"+name, "context object"
	case ref.Variable != "":
		v, ok := en.vars[ref.Variable]
		if !ok {
			return nil, errorf(ErrRuntime, "the variable $%s is not defined (no earlier state in scope assigned it)", ref.Variable)
		}
		root, name, where = v, "$"+ref.Variable+name[1:], "value of $"+ref.Variable
	}
	v, err := ref.Path.Get(root)
	if err != nil {
		return nil, errorf(ErrRuntime, "the JSONPath %s could not be found in the %s", name, where)
	}
	return v, nil
}

// template is a compiled payload template (Parameters, ResultSelector,
// ItemSelector): keys ending in ".$" take their value from a path or
// intrinsic, everything else is copied.
type template interface {
	eval(en *env) (any, *Error)
}

type tmplObject struct {
	keys    []string
	vals    []template
	ordered bool // keys are not sorted: remember their order on each object built
}

type tmplArray []template

type tmplConst struct{ v any }

type tmplExpr struct{ e *expr }

func compileTemplate(v any, where string) (template, error) {
	switch v := v.(type) {
	case map[string]any:
		t := &tmplObject{}
		for _, k := range jsonorder.Keys(v) {
			field := strings.TrimPrefix(where+"."+k, ".")
			if name, ok := strings.CutSuffix(k, ".$"); ok {
				s, isStr := v[k].(string)
				if !isStr {
					return nil, fmt.Errorf("%s: a .$ field must hold a path or intrinsic string", field)
				}
				e, err := compileExpr(s, true)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", field, err)
				}
				t.keys, t.vals = append(t.keys, name), append(t.vals, tmplExpr{e})
				continue
			}
			sub, err := compileTemplate(v[k], field)
			if err != nil {
				return nil, err
			}
			t.keys, t.vals = append(t.keys, k), append(t.vals, sub)
		}
		t.ordered = !sort.StringsAreSorted(t.keys)
		return t, nil
	case []any:
		t := make(tmplArray, len(v))
		for i, item := range v {
			sub, err := compileTemplate(item, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			t[i] = sub
		}
		return t, nil
	}
	return tmplConst{v}, nil
}

func (t *tmplObject) eval(en *env) (any, *Error) {
	out := make(map[string]any, len(t.keys))
	for i, k := range t.keys {
		v, err := t.vals[i].eval(en)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	if t.ordered {
		jsonorder.Remember(out, t.keys)
	}
	return out, nil
}

func (t tmplArray) eval(en *env) (any, *Error) {
	out := make([]any, len(t))
	for i, sub := range t {
		v, err := sub.eval(en)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// eval of a constant copies it so later ResultPath writes cannot alias the
// definition.
func (t tmplConst) eval(*env) (any, *Error) { return deepCopy(t.v), nil }

func (t tmplExpr) eval(en *env) (any, *Error) { return t.e.eval(en) }
