// Package jsonpath implements the JSONPath subset that Amazon States Language
// uses: $, .field, ['field'], [n] (negative counts from the end), [*], [a:b:c],
// unions [0,2] / ['a','b'], recursive descent ..field / ..*, and simple
// filters [?(@.field OP literal)] / [?(@.field)].
//
// A path that can only ever name one node (no wildcard, slice, union, filter
// or descent) is "definite": Get returns that node. Any other path returns
// the list of matches, which is how Step Functions reports them.
package jsonpath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/internal/asl/jsonorder"
)

// ErrNotFound is wrapped by Get when a definite path names nothing.
var ErrNotFound = errors.New("path not found")

// Path is a compiled JSONPath expression.
type Path struct {
	src      string
	steps    []step
	definite bool
}

type stepKind int

const (
	stepField stepKind = iota
	stepIndex
	stepWildcard
	stepSlice
	stepUnion // names or indexes
	stepDescend
	stepFilter
)

type step struct {
	kind    stepKind
	name    string // field, or descent target ("" = any)
	index   int
	slice   [3]*int
	names   []string
	indexes []int
	filter  *filter
}

// MustParse is Parse for paths known to be valid (tests, constants).
func MustParse(s string) *Path {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Parse compiles s, which must start with "$".
func Parse(s string) (*Path, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("JSONPath %q must start with $", s)
	}
	p := &parser{src: s, pos: 1}
	steps, err := p.steps()
	if err != nil {
		return nil, fmt.Errorf("JSONPath %q: %w", s, err)
	}
	path := &Path{src: s, steps: steps, definite: true}
	for _, st := range steps {
		if st.kind != stepField && st.kind != stepIndex {
			path.definite = false
		}
	}
	return path, nil
}

// String returns the source text.
func (p *Path) String() string { return p.src }

// Definite reports whether the path names at most one node (a "Reference
// Path" in the ASL spec, the only kind ResultPath accepts).
func (p *Path) Definite() bool { return p.definite }

// IsRoot reports whether the path is just "$".
func (p *Path) IsRoot() bool { return len(p.steps) == 0 }

// Get evaluates the path against doc. Definite paths return the node or an
// error wrapping ErrNotFound; other paths return []any of all matches.
func (p *Path) Get(doc any) (any, error) {
	if p.definite {
		cur := doc
		for _, st := range p.steps {
			next, ok := childOf(cur, st)
			if !ok {
				return nil, fmt.Errorf("%w: %s does not match the input", ErrNotFound, p.src)
			}
			cur = next
		}
		return cur, nil
	}
	nodes := []any{doc}
	for _, st := range p.steps {
		var next []any
		for _, n := range nodes {
			next = st.apply(n, next)
		}
		nodes = next
	}
	if nodes == nil {
		nodes = []any{}
	}
	return nodes, nil
}

// Set returns a copy of doc with the node named by the (definite) path
// replaced by val; missing objects on the way are created. Maps on the path are
// copied, never modified, so other holders of doc are unaffected.
func (p *Path) Set(doc any, val any) (any, error) {
	if !p.definite {
		return nil, fmt.Errorf("JSONPath %q is not a reference path", p.src)
	}
	return setIn(doc, p.steps, val, p.src)
}

func setIn(cur any, steps []step, val any, src string) (any, error) {
	if len(steps) == 0 {
		return val, nil
	}
	st := steps[0]
	switch st.kind {
	case stepField:
		var m map[string]any
		switch c := cur.(type) {
		case map[string]any:
			m = make(map[string]any, len(c)+1)
			for k, v := range c {
				m[k] = v
			}
		case nil:
			m = map[string]any{}
		default:
			return nil, fmt.Errorf("cannot set field %q of a %s in %s", st.name, TypeName(cur), src)
		}
		child, err := setIn(m[st.name], steps[1:], val, src)
		if err != nil {
			return nil, err
		}
		m[st.name] = child
		if c, ok := cur.(map[string]any); ok {
			jsonorder.Inherit(m, c, st.name) // a new field goes last, as in Step Functions
		}
		return m, nil
	default: // stepIndex: only inside an existing array
		a, ok := cur.([]any)
		i := st.index
		if ok && i < 0 {
			i += len(a)
		}
		if !ok || i < 0 || i >= len(a) {
			return nil, fmt.Errorf("index [%d] is not inside an array in %s", st.index, src)
		}
		cp := append([]any(nil), a...)
		child, err := setIn(cp[i], steps[1:], val, src)
		if err != nil {
			return nil, err
		}
		cp[i] = child
		return cp, nil
	}
}

// TypeName names a JSON value's type for error messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, int, int64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func childOf(cur any, st step) (any, bool) {
	switch st.kind {
	case stepField:
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[st.name]
		return v, ok
	case stepIndex:
		a, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		i := st.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	return nil, false
}

// apply appends to out the nodes this step selects from n.
func (st step) apply(n any, out []any) []any {
	switch st.kind {
	case stepField, stepIndex:
		if v, ok := childOf(n, st); ok {
			out = append(out, v)
		}
	case stepWildcard:
		out = appendChildren(n, out)
	case stepSlice:
		if a, ok := n.([]any); ok {
			out = appendSlice(a, st.slice, out)
		}
	case stepUnion:
		for _, name := range st.names {
			out = step{kind: stepField, name: name}.apply(n, out)
		}
		for _, i := range st.indexes {
			out = step{kind: stepIndex, index: i}.apply(n, out)
		}
	case stepDescend:
		out = descend(n, st.name, out)
	case stepFilter:
		for _, c := range appendChildren(n, nil) {
			if st.filter.match(c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// appendChildren appends an array's items or an object's values (in key
// order, so results are deterministic).
func appendChildren(n any, out []any) []any {
	switch c := n.(type) {
	case []any:
		out = append(out, c...)
	case map[string]any:
		for _, k := range sortedKeys(c) {
			out = append(out, c[k])
		}
	}
	return out
}

func appendSlice(a []any, s [3]*int, out []any) []any {
	n := len(a)
	stepBy := 1
	if s[2] != nil {
		stepBy = *s[2]
	}
	if stepBy <= 0 {
		return out // negative steps are not part of the ASL subset
	}
	norm := func(p *int, def int) int {
		if p == nil {
			return def
		}
		i := *p
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	for i := norm(s[0], 0); i < norm(s[1], n); i += stepBy {
		out = append(out, a[i])
	}
	return out
}

// descend collects, depth first, every value named name (or every value
// when name is "") below n.
func descend(n any, name string, out []any) []any {
	switch c := n.(type) {
	case map[string]any:
		for _, k := range sortedKeys(c) {
			if name == "" || k == name {
				out = append(out, c[k])
			}
			out = descend(c[k], name, out)
		}
	case []any:
		for _, v := range c {
			if name == "" {
				out = append(out, v)
			}
			out = descend(v, name, out)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// ---- parsing ----

type parser struct {
	src string
	pos int
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

func (p *parser) steps() ([]step, error) {
	var steps []step
	for !p.eof() {
		switch p.peek() {
		case '.':
			st, err := p.dotStep()
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
		case '[':
			st, err := p.bracketStep()
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", p.peek(), p.pos)
		}
	}
	return steps, nil
}

func (p *parser) dotStep() (step, error) {
	p.pos++ // '.'
	if strings.HasPrefix(p.src[p.pos:], ".") {
		p.pos++
		if !p.eof() && p.peek() == '[' {
			// $..['a'] is rare; support ..* and ..name only.
			return step{}, fmt.Errorf("unsupported recursive descent into brackets at offset %d", p.pos)
		}
		if !p.eof() && p.peek() == '*' {
			p.pos++
			return step{kind: stepDescend}, nil
		}
		name := p.name()
		if name == "" {
			return step{}, fmt.Errorf("missing field name after '..' at offset %d", p.pos)
		}
		return step{kind: stepDescend, name: name}, nil
	}
	if !p.eof() && p.peek() == '*' {
		p.pos++
		return step{kind: stepWildcard}, nil
	}
	name := p.name()
	if name == "" {
		return step{}, fmt.Errorf("missing field name after '.' at offset %d", p.pos)
	}
	return step{kind: stepField, name: name}, nil
}

// name reads a dot-notation field name: anything up to '.', '[' or space.
func (p *parser) name() string {
	start := p.pos
	for !p.eof() && !strings.ContainsRune(".[] \t\n", rune(p.peek())) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) bracketStep() (step, error) {
	end := p.closing()
	if end < 0 {
		return step{}, fmt.Errorf("unclosed '[' at offset %d", p.pos)
	}
	body := strings.TrimSpace(p.src[p.pos+1 : end])
	at := p.pos
	p.pos = end + 1
	switch {
	case body == "*":
		return step{kind: stepWildcard}, nil
	case strings.HasPrefix(body, "?("):
		if !strings.HasSuffix(body, ")") {
			return step{}, fmt.Errorf("filter at offset %d must be [?(...)]", at)
		}
		f, err := parseFilter(body[2 : len(body)-1])
		if err != nil {
			return step{}, err
		}
		return step{kind: stepFilter, filter: f}, nil
	case body == "":
		return step{}, fmt.Errorf("empty [] at offset %d", at)
	case strings.ContainsRune(body, ':') && !isQuoted(body):
		return parseSlice(body, at)
	}
	return parseUnion(body, at)
}

// closing finds the ']' matching the '[' at p.pos, skipping quoted strings.
func (p *parser) closing() int {
	var quote byte
	for i := p.pos + 1; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == ']':
			return i
		}
	}
	return -1
}

func isQuoted(s string) bool {
	return len(s) >= 2 && (s[0] == '\'' || s[0] == '"')
}

func parseSlice(body string, at int) (step, error) {
	parts := strings.Split(body, ":")
	if len(parts) > 3 {
		return step{}, fmt.Errorf("bad slice [%s] at offset %d", body, at)
	}
	var st step
	st.kind = stepSlice
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return step{}, fmt.Errorf("bad slice bound %q at offset %d", part, at)
		}
		st.slice[i] = &n
	}
	return st, nil
}

func parseUnion(body string, at int) (step, error) {
	var names []string
	var indexes []int
	for _, item := range splitTopLevel(body) {
		item = strings.TrimSpace(item)
		if isQuoted(item) {
			s, err := unquote(item)
			if err != nil {
				return step{}, fmt.Errorf("bad name %s at offset %d: %v", item, at, err)
			}
			names = append(names, s)
			continue
		}
		n, err := strconv.Atoi(item)
		if err != nil {
			return step{}, fmt.Errorf("bad subscript %q at offset %d (want 'name', number, *, a:b or ?(...))", item, at)
		}
		indexes = append(indexes, n)
	}
	if len(names)+len(indexes) == 1 {
		if len(names) == 1 {
			return step{kind: stepField, name: names[0]}, nil
		}
		return step{kind: stepIndex, index: indexes[0]}, nil
	}
	return step{kind: stepUnion, names: names, indexes: indexes}, nil
}

// splitTopLevel splits on commas outside quotes.
func splitTopLevel(s string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote reads a '...' or "..." string with backslash escapes.
func unquote(s string) (string, error) {
	q := s[0]
	if len(s) < 2 || s[len(s)-1] != q {
		return "", errors.New("unterminated string")
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' {
			i++
			if i >= len(s)-1 {
				return "", errors.New("dangling backslash")
			}
			c = s[i]
		} else if c == q {
			return "", errors.New("unescaped quote inside string")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
