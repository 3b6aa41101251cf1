package asl

import (
	"fmt"
	"math"
	"time"
)

// fields reads one JSON object of a definition, reporting problems with the
// state and field named. Unknown fields are reported when it is created:
// Step Functions rejects them too, and they are usually typos.
type fields struct {
	p      *parser
	state  string
	prefix string // for nested objects: "Retry[0]."
	m      map[string]any
}

func (p *parser) fields(state string, m map[string]any, allowed ...string) *fields {
	return p.nested(state, "", m, allowed...)
}

// sub reads a nested object of the same state, e.g. one retrier.
func (f *fields) sub(prefix string, m map[string]any, allowed ...string) *fields {
	return f.p.nested(f.state, f.prefix+prefix, m, allowed...)
}

// at reads a nested object whose fields are checked elsewhere.
func (f *fields) at(prefix string, m map[string]any) *fields {
	return &fields{p: f.p, state: f.state, prefix: f.prefix + prefix, m: m}
}

func (p *parser) nested(state, prefix string, m map[string]any, allowed ...string) *fields {
	f := &fields{p: p, state: state, prefix: prefix, m: m}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, k := range sortedKeys(m) {
		if !ok[k] {
			f.fail(k, "unknown field")
		}
	}
	return f
}

func (f *fields) fail(field, format string, args ...any) {
	f.p.fail(f.state, f.prefix+field, format, args...)
}

func (f *fields) has(name string) bool {
	_, ok := f.m[name]
	return ok
}

func (f *fields) str(name string, required bool) string {
	v, ok := f.m[name]
	if !ok {
		if required {
			f.fail(name, "required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.fail(name, "must be a string")
	}
	return s
}

func (f *fields) boolean(name string) bool {
	v, ok := f.m[name]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		f.fail(name, "must be true or false")
	}
	return b
}

func (f *fields) num(name string) (float64, bool) {
	v, ok := f.m[name]
	if !ok {
		return 0, false
	}
	n, ok := v.(float64)
	if !ok {
		f.fail(name, "must be a number")
	}
	return n, ok
}

// integer reads a non-negative integer field.
func (f *fields) integer(name string) (int, bool) {
	n, ok := f.num(name)
	if !ok {
		return 0, false
	}
	if n < 0 || n != math.Trunc(n) || n > math.MaxInt32 {
		f.fail(name, "must be a non-negative integer, got %v", n)
		return 0, false
	}
	return int(n), true
}

// seconds reads a positive whole number of seconds.
func (f *fields) seconds(name string) time.Duration {
	n, ok := f.integer(name)
	if ok && n == 0 {
		f.fail(name, "must be a positive integer")
	}
	return time.Duration(n) * time.Second
}

// pathField reads InputPath/OutputPath/ResultPath: a path or null; nil
// when absent (meaning the default "$").
func (f *fields) pathField(name string, definite bool) *pathField {
	v, ok := f.m[name]
	if !ok {
		return nil
	}
	if v == nil {
		return &pathField{null: true}
	}
	s, ok := v.(string)
	if !ok {
		f.fail(name, "must be a JSONPath string or null")
		return nil
	}
	e, err := compileExpr(s, false)
	if err != nil {
		f.fail(name, "%v", err)
		return nil
	}
	if definite && (e.context || e.variable != "" || !e.path.Definite()) {
		f.fail(name, "%q must be a reference path into the state input ($, .field, [n] only)", s)
		return nil
	}
	return &pathField{expr: e}
}

// expr reads a *Path field: a path into the input or context, or (when
// allowed) an intrinsic function call.
func (f *fields) expr(name string, allowIntrinsic bool) *expr {
	s := f.str(name, false)
	if s == "" {
		if f.has(name) {
			f.fail(name, "must not be empty")
		}
		return nil
	}
	e, err := compileExpr(s, allowIntrinsic)
	if err != nil {
		f.fail(name, "%v", err)
		return nil
	}
	return e
}

// template reads Parameters/ResultSelector/ItemSelector.
func (f *fields) template(name string) template {
	v, ok := f.m[name]
	if !ok {
		return nil
	}
	if _, isObj := v.(map[string]any); !isObj {
		f.fail(name, "must be an object")
		return nil
	}
	t, err := compileTemplate(v, "")
	if err != nil {
		f.fail(name, "%v", err)
		return nil
	}
	return t
}

// object reads a nested object field (a retrier, a branch, ...).
func (f *fields) object(name string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		f.fail(name, "must be an object")
	}
	return m, ok
}

func (f *fields) array(name string) []any {
	v, ok := f.m[name]
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		f.fail(name, "must be an array")
	}
	return a
}

// strings reads an array of non-empty strings.
func (f *fields) strings(name string) []string {
	var out []string
	for i, v := range f.array(name) {
		s, ok := v.(string)
		if !ok || s == "" {
			f.fail(fmt.Sprintf("%s[%d]", name, i), "must be a non-empty string")
			continue
		}
		out = append(out, s)
	}
	return out
}
