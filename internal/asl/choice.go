package asl

import (
	"fmt"
	"strings"
	"time"
)

// choiceRule is one entry of Choices: a condition and where to go.
type choiceRule struct {
	cond   condition
	next   string
	assign *pathAssign

	jCondition jtemplate // JSONata states
	jOutput    jtemplate
	jAssign    *jAssign
}

type condition interface {
	eval(en *env) (bool, *Error)
}

type andCond []condition
type orCond []condition
type notCond struct{ c condition }

// comparison is Variable OP value (or OP+"Path" with a path operand).
type comparison struct {
	variable *expr
	op       *operator
	value    any   // the literal operand (pattern for StringMatches)
	operand  *expr // for ...Path operators
	isPath   bool
	pattern  []matchPart
}

// operator describes one comparison family.
type operator struct {
	name string
	kind string // string, numeric, boolean, timestamp, matches, test
	// want tells whether a three-way comparison result satisfies it.
	want func(c int) bool
}

var operators = map[string]*operator{}

func init() {
	orders := map[string]func(int) bool{
		"Equals":            func(c int) bool { return c == 0 },
		"LessThan":          func(c int) bool { return c < 0 },
		"GreaterThan":       func(c int) bool { return c > 0 },
		"LessThanEquals":    func(c int) bool { return c <= 0 },
		"GreaterThanEquals": func(c int) bool { return c >= 0 },
	}
	for _, kind := range []string{"String", "Numeric", "Timestamp"} {
		for suffix, want := range orders {
			operators[kind+suffix] = &operator{name: kind + suffix, kind: strings.ToLower(kind), want: want}
		}
	}
	operators["BooleanEquals"] = &operator{name: "BooleanEquals", kind: "boolean", want: orders["Equals"]}
	operators["StringMatches"] = &operator{name: "StringMatches", kind: "matches"}
	for _, test := range []string{"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"} {
		operators[test] = &operator{name: test, kind: "test"}
	}
}

// choice parses the Choices and Default of a Choice state.
func (p *parser) choice(f *fields, st *state, def map[string]any) {
	st.defaultNext = f.str("Default", false)
	rules := f.array("Choices")
	if len(rules) == 0 {
		f.fail("Choices", "required, must be a non-empty array")
	}
	for i, raw := range rules {
		field := fmt.Sprintf("Choices[%d]", i)
		obj, ok := f.object(field, raw)
		if !ok {
			continue
		}
		next, _ := obj["Next"].(string)
		if next == "" {
			f.fail(field+".Next", "required")
		}
		cond := p.condition(f, field, obj, true)
		rule := &choiceRule{cond: cond, next: next}
		rule.assign = f.at(field+".", obj).pathAssign()
		st.choices = append(st.choices, rule)
	}
}

// condition parses a Boolean expression or a comparison; only top-level
// rules carry Next.
func (p *parser) condition(parent *fields, field string, obj map[string]any, top bool) condition {
	allowed := []string{"Variable", "And", "Or", "Not", "Comment"}
	if top { // only a whole rule transitions and assigns, not a nested one
		allowed = append(allowed, "Next", "Assign")
	}
	for name := range operators {
		allowed = append(allowed, name)
		if operators[name].kind != "test" && name != "StringMatches" {
			allowed = append(allowed, name+"Path")
		}
	}
	f := parent.sub(field+".", obj, allowed...)
	switch {
	case f.has("And"), f.has("Or"):
		name := "And"
		if f.has("Or") {
			name = "Or"
		}
		var subs []condition
		for i, raw := range f.array(name) {
			sf := fmt.Sprintf("%s[%d]", name, i)
			if m, ok := f.object(sf, raw); ok {
				subs = append(subs, p.condition(f, sf, m, false))
			}
		}
		if len(subs) == 0 {
			f.fail(name, "must be a non-empty array of rules")
		}
		if name == "And" {
			return andCond(subs)
		}
		return orCond(subs)
	case f.has("Not"):
		if m, ok := f.object("Not", obj["Not"]); ok {
			return notCond{p.condition(f, "Not", m, false)}
		}
		return nil
	}
	return p.comparison(f, obj)
}

func (p *parser) comparison(f *fields, obj map[string]any) condition {
	c := &comparison{}
	var found []string
	for k := range obj {
		if _, ok := operators[strings.TrimSuffix(k, "Path")]; ok {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		f.fail("", "a choice rule needs exactly one comparison operator (or And/Or/Not), found %d", len(found))
		return nil
	}
	opName := found[0]
	c.op = operators[opName]
	if c.op == nil {
		c.op, c.isPath = operators[strings.TrimSuffix(opName, "Path")], true
	}
	c.variable = f.expr("Variable", false)
	if c.variable == nil && !f.has("Variable") {
		f.fail("Variable", "required")
	}
	if c.isPath {
		c.operand = f.expr(opName, false)
		return c
	}
	c.value = obj[opName]
	if err := c.checkLiteral(); err != nil {
		f.fail(opName, "%v", err)
	}
	return c
}

func (c *comparison) checkLiteral() error {
	switch c.op.kind {
	case "string":
		if _, ok := c.value.(string); !ok {
			return fmt.Errorf("must be a string")
		}
	case "matches":
		s, ok := c.value.(string)
		if !ok {
			return fmt.Errorf("must be a string pattern")
		}
		c.pattern = compilePattern(s)
	case "numeric":
		if _, ok := c.value.(float64); !ok {
			return fmt.Errorf("must be a number")
		}
	case "boolean", "test":
		if _, ok := c.value.(bool); !ok {
			return fmt.Errorf("must be true or false")
		}
	case "timestamp":
		s, _ := c.value.(string)
		if _, err := parseTimestamp(s); err != nil {
			return err
		}
	}
	return nil
}

func (a andCond) eval(en *env) (bool, *Error) {
	for _, c := range a {
		if ok, err := c.eval(en); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (o orCond) eval(en *env) (bool, *Error) {
	for _, c := range o {
		if ok, err := c.eval(en); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (n notCond) eval(en *env) (bool, *Error) {
	ok, err := n.c.eval(en)
	return !ok && err == nil, err
}

func (c *comparison) eval(en *env) (bool, *Error) {
	v, verr := c.variable.eval(en)
	if c.op.kind == "test" {
		return c.test(v, verr == nil) == c.value.(bool), nil
	}
	if verr != nil {
		return false, errorf(ErrRuntime, "Invalid path %s: the choice state's condition path references an invalid value", c.variable.src)
	}
	want := c.value
	if c.isPath {
		var err *Error
		if want, err = c.operand.eval(en); err != nil {
			return false, err
		}
	}
	switch c.op.kind {
	case "matches":
		s, ok := v.(string)
		return ok && matchPattern(c.pattern, s), nil
	case "boolean":
		b, ok1 := v.(bool)
		w, ok2 := want.(bool)
		return ok1 && ok2 && b == w, nil
	}
	cmp, ok := compareAs(c.op.kind, v, want)
	return ok && c.op.want(cmp), nil
}

// test evaluates the Is* operators; a missing variable is simply not
// null/numeric/... (and not present).
func (c *comparison) test(v any, present bool) bool {
	if !present {
		return false
	}
	switch c.op.name {
	case "IsPresent":
		return true
	case "IsNull":
		return v == nil
	case "IsNumeric":
		_, ok := v.(float64)
		return ok
	case "IsString":
		_, ok := v.(string)
		return ok
	case "IsBoolean":
		_, ok := v.(bool)
		return ok
	default: // IsTimestamp
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := parseTimestamp(s)
		return err == nil
	}
}

// compareAs orders a and b as kind; values of the wrong type compare false,
// as in Step Functions.
func compareAs(kind string, a, b any) (int, bool) {
	switch kind {
	case "string":
		x, ok1 := a.(string)
		y, ok2 := b.(string)
		return strings.Compare(x, y), ok1 && ok2
	case "numeric":
		x, ok1 := a.(float64)
		y, ok2 := b.(float64)
		return cmpFloat(x, y), ok1 && ok2
	default: // timestamp
		xs, ok1 := a.(string)
		ys, ok2 := b.(string)
		if !ok1 || !ok2 {
			return 0, false
		}
		x, err1 := parseTimestamp(xs)
		y, err2 := parseTimestamp(ys)
		return x.Compare(y), err1 == nil && err2 == nil
	}
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// parseTimestamp accepts the RFC 3339 profile ASL uses ("2016-03-14T01:59:00Z",
// optional fractional seconds and numeric offset).
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || strings.ContainsAny(s, "tz") {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z", s)
	}
	return t, nil
}

// matchPart is a literal run or a "*" of a StringMatches pattern.
type matchPart struct {
	star bool
	lit  string
}

// compilePattern splits a StringMatches pattern: * matches any run of
// characters, \* is a literal star and \\ a literal backslash.
func compilePattern(p string) []matchPart {
	var parts []matchPart
	var lit strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '\\'):
			i++
			lit.WriteByte(p[i])
		case p[i] == '*':
			parts = append(parts, matchPart{lit: lit.String()}, matchPart{star: true})
			lit.Reset()
		default:
			lit.WriteByte(p[i])
		}
	}
	return append(parts, matchPart{lit: lit.String()})
}

// matchPattern matches s against a compiled pattern: the first literal is a
// prefix, the last a suffix, and the ones between are found leftmost-first,
// which is enough for '*'-only globs and linear in practice.
func matchPattern(parts []matchPart, s string) bool {
	var lits []string
	for _, p := range parts {
		if !p.star {
			lits = append(lits, p.lit)
		}
	}
	if len(lits) == 1 {
		return s == lits[0]
	}
	first, last := lits[0], lits[len(lits)-1]
	rest, ok := strings.CutPrefix(s, first)
	if !ok {
		return false
	}
	if rest, ok = strings.CutSuffix(rest, last); !ok {
		return false
	}
	for _, lit := range lits[1 : len(lits)-1] {
		i := strings.Index(rest, lit)
		if i < 0 {
			return false
		}
		rest = rest[i+len(lit):]
	}
	return true
}
