// Package template renders StackStorm-style Jinja templates (rule criteria
// patterns and action parameters) with gonja. Templates see `trigger` (the
// trigger payload) and `st2kv` (the datastore: {{ st2kv.system.key }}), plus
// the Jinja builtins and StackStorm's common filters.
package template

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/logging"
	"github.com/nikolalohinski/gonja/v2/nodes"

	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/lru"
)

func init() {
	// gonja logs conversion oddities through logrus; we report errors ourselves.
	logging.SetEnabled(false)
}

// Context is what a template can see.
type Context struct {
	// Trigger is the trigger payload, `trigger` in templates.
	Trigger map[string]any
	// KV backs `st2kv`; nil means an empty datastore.
	KV kv.Reader
	// Vars are extra top-level names (e.g. `item` inside a search criterion).
	Vars map[string]any
}

// Template is a compiled template. It is safe for concurrent use.
type Template struct {
	src string
	tpl *exec.Template
	// expr is set when the whole template is one {{ expression }}: rendering
	// then yields the expression's native value (a number stays a number),
	// as StackStorm does.
	expr nodes.Expression
}

// IsTemplate reports whether s contains Jinja markup; other strings are
// literals and need no rendering.
func IsTemplate(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%")
}

// Compile parses src.
func Compile(src string) (t *Template, err error) {
	defer func() {
		// gonja's parser is young; a panic on odd input must not take the
		// service down, it is just a bad template.
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("invalid template: %v", r)
		}
	}()
	tpl, err := exec.NewTemplate(rootName, gonja.DefaultConfig, sourceLoader(rewriteKV(src)), environment)
	if err != nil {
		return nil, cleanError(err, src)
	}
	t = &Template{src: src, tpl: tpl}
	if ns := tpl.Root().Nodes; len(ns) == 1 {
		if out, ok := ns[0].(*nodes.Output); ok && out.Condition == nil {
			t.expr = out.Expression
		}
	}
	return t, nil
}

// Source returns the template text.
func (t *Template) Source() string { return t.src }

// Render renders t. A single-expression template returns the native value
// (number, bool, list, map, nil); anything else returns the rendered string.
func (t *Template) Render(c Context) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("template %q: %v", t.src, r)
		}
	}()
	data := c.data()
	if t.expr != nil {
		return t.eval(data)
	}
	s, err := t.tpl.ExecuteToString(data)
	if err != nil {
		return nil, cleanError(err, t.src)
	}
	return s, nil
}

// RenderString renders t as text, whatever the template's shape.
func (t *Template) RenderString(c Context) (string, error) {
	v, err := t.Render(c)
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return exec.AsValue(v).String(), nil
}

func (t *Template) eval(data *exec.Context) (any, error) {
	env := *environment
	env.Context = environment.Context.Inherit().Update(data)
	// The loader only serves include/import, which templates may not use.
	ev := &exec.Evaluator{Config: gonja.DefaultConfig, Environment: &env, Loader: sourceLoader("")}
	val := ev.Eval(t.expr)
	if val.IsError() {
		return nil, cleanError(errors.New(val.Error()), t.src)
	}
	return native(val)
}

// native converts a gonja value to plain JSON-like Go values.
func native(v *exec.Value) (any, error) {
	out := v.ToGoSimpleType(false)
	if err, ok := out.(error); ok {
		return nil, err
	}
	switch n := out.(type) {
	case int64:
		return int(n), nil
	case float32:
		return float64(n), nil
	}
	return wholeNumbersAsInts(out), nil
}

func (c Context) data() *exec.Context {
	vars := map[string]any{
		"trigger": c.Trigger,
		"st2kv":   map[string]any{"system": &kvScope{reader: c.KV}},
		kvFunc:    kvGetter(c.KV),
	}
	for k, v := range c.Vars {
		vars[k] = v
	}
	return exec.NewContext(vars)
}

// cleanError strips gonja's wrapping noise (it quotes the whole source) and
// names the template once.
func cleanError(err error, src string) error {
	msg := strings.ReplaceAll(err.Error(), "unable to execute template: ", "")
	msg = strings.ReplaceAll(msg, fmt.Sprintf("failed to parse template '%s': ", src), "")
	return fmt.Errorf("template %q: %s", src, msg)
}

// cache holds compiled templates by source: rules render the same patterns
// and parameters for every trigger. It is an LRU of fixed size because a
// source may itself come from trigger data (a rendered pattern).
var cache = lru.New[string, *Template](maxCached)

const maxCached = 4096

// Render compiles (once, cached) and renders src. Strings without markup
// are returned as they are.
func Render(src string, c Context) (any, error) {
	if !IsTemplate(src) {
		return src, nil
	}
	t, err := compileCached(src)
	if err != nil {
		return nil, err
	}
	return t.Render(c)
}

func compileCached(src string) (*Template, error) {
	if t, ok := cache.Get(src); ok {
		return t, nil
	}
	t, err := Compile(src)
	if err != nil {
		return nil, err
	}
	cache.Add(src, t)
	return t, nil
}

// RenderValue renders every string inside v (maps and lists recursively),
// leaving other values as they are. It returns a new value; v is untouched.
func RenderValue(v any, c Context) (any, error) {
	switch x := v.(type) {
	case string:
		return Render(x, c)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := RenderValue(e, c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := RenderValue(e, c)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// Check compiles every template string inside v and returns the first
// error: validation without a trigger.
func Check(v any) error {
	switch x := v.(type) {
	case string:
		if IsTemplate(x) {
			_, err := compileCached(x)
			return err
		}
	case map[string]any:
		for k, e := range x {
			if err := Check(e); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	case []any:
		for i, e := range x {
			if err := Check(e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	}
	return nil
}

const rootName = "template"

// sourceLoader serves the template itself and refuses everything else:
// rule templates may not read files through include/import/extends.
type sourceLoader string

func (l sourceLoader) Read(path string) (io.Reader, error) {
	if path != rootName {
		return nil, fmt.Errorf("templates cannot load %q: include/import are not available", path)
	}
	return strings.NewReader(string(l)), nil
}

func (l sourceLoader) Resolve(path string) (string, error) { return path, nil }

func (l sourceLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// NewContext prepares a context for rendering many templates against one
// trigger. Payload numbers that are whole become ints, so "{{ trigger.count }}"
// inside text renders "5" and not "5.0" (JSON decoding made them float64;
// StackStorm's Python would print an int).
func NewContext(payload map[string]any, store kv.Reader) Context {
	p, _ := wholeNumbersAsInts(payload).(map[string]any)
	return Context{Trigger: p, KV: store}
}

// maxExactInt is the largest integer a float64 holds exactly.
const maxExactInt = 1 << 53

func wholeNumbersAsInts(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x <= maxExactInt && x >= -maxExactInt {
			return int(x)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = wholeNumbersAsInts(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wholeNumbersAsInts(e)
		}
		return out
	}
	return v
}
