package asl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/medic-sre/medic/internal/asl/intrinsic"
	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

// env is what paths and intrinsics are evaluated against: the state's
// (effective) input as $ and the context object as $$, built only when used.
type env struct {
	input   any
	context func() map[string]any
}

// expr is a path into $ or $$, or an intrinsic function call.
type expr struct {
	src     string
	path    *jsonpath.Path
	context bool
	call    *intrinsic.Call
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
		return nil, fmt.Errorf("%q is not a JSONPath (must start with $ or $$)", s)
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
	v, err := en.resolve(e.path, e.context)
	if err != nil {
		return nil, err.(*Error)
	}
	return v, nil
}

func (en *env) resolve(p *jsonpath.Path, context bool) (any, error) {
	root := en.input
	name := p.String()
	if context {
		root = any(en.context())
		name = "$" + name
	}
	v, err := p.Get(root)
	if err != nil {
		return nil, errorf(ErrRuntime, "the JSONPath %s could not be found in the %s", name, map[bool]string{false: "input", true: "context object"}[context])
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
	keys []string
	vals []template
}

type tmplArray []template

type tmplConst struct{ v any }

type tmplExpr struct{ e *expr }

func compileTemplate(v any, where string) (template, error) {
	switch v := v.(type) {
	case map[string]any:
		t := &tmplObject{}
		for _, k := range sortedKeys(v) {
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
