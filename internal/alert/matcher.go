package alert

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Op is a matcher operator, as in Alertmanager.
type Op string

const (
	OpEqual     Op = "="
	OpNotEqual  Op = "!="
	OpRegex     Op = "=~"
	OpNotRegex  Op = "!~"
	maxPatternL    = 1024
)

// Matcher tests one label. An absent label matches as the empty string, so
// `team=""` selects alerts without a team and `team!=""` those with one.
// Regexes match the whole value (they are anchored), as in Alertmanager.
type Matcher struct {
	Name  string `json:"name"`
	Op    Op     `json:"op"`
	Value string `json:"value"`
	re    *regexp.Regexp
}

// NewMatcher validates and compiles a matcher.
func NewMatcher(name string, op Op, value string) (Matcher, error) {
	m := Matcher{Name: name, Op: op, Value: value}
	if !validLabelName(name) {
		return m, fmt.Errorf("matcher %s: label name %q must match [A-Za-z_][A-Za-z0-9_.-]*", m, name)
	}
	switch op {
	case OpEqual, OpNotEqual:
	case OpRegex, OpNotRegex:
		if len(value) > maxPatternL {
			return m, fmt.Errorf("matcher %s: regex longer than %d bytes", name, maxPatternL)
		}
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return m, fmt.Errorf("matcher %s: bad regex %q: %v", name, value, err)
		}
		m.re = re
	default:
		return m, fmt.Errorf("matcher %s: operator %q is not one of = != =~ !~", name, op)
	}
	return m, nil
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// ParseMatcher reads `name=value`, `name!=value`, `name=~regex` or
// `name!~regex`. The value may be double-quoted (Go syntax) to hold spaces
// or operators.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want NAME OP VALUE with OP one of = != =~ !~", s)
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	var op Op
	for _, o := range []Op{OpNotEqual, OpRegex, OpNotRegex, OpEqual} {
		if strings.HasPrefix(rest, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Matcher{}, fmt.Errorf("matcher %q: want NAME OP VALUE with OP one of = != =~ !~", s)
	}
	value := strings.TrimSpace(rest[len(op):])
	if strings.HasPrefix(value, `"`) {
		uq, err := strconv.Unquote(value)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: bad quoted value: %v", s, err)
		}
		value = uq
	} else if strings.HasPrefix(value, "=") || strings.HasPrefix(value, "~") {
		return Matcher{}, fmt.Errorf("matcher %q: value starts with %q; quote it if that is meant", s, value[:1])
	}
	return NewMatcher(name, op, value)
}

// Matches tests the label set.
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case OpEqual:
		return v == m.Value
	case OpNotEqual:
		return v != m.Value
	case OpRegex, OpNotRegex:
		re := m.re
		if re == nil { // a struct literal, not built by NewMatcher
			var err error
			if re, err = regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
				return false
			}
		}
		return re.MatchString(v) == (m.Op == OpRegex)
	}
	return false
}

func (m Matcher) String() string { return m.Name + string(m.Op) + strconv.Quote(m.Value) }

// UnmarshalJSON validates and compiles, so stored matchers behave as parsed
// ones.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name  string `json:"name"`
		Op    Op     `json:"op"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	parsed, err := NewMatcher(raw.Name, raw.Op, raw.Value)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

// Matchers is a conjunction: all must match.
type Matchers []Matcher

// Matches tests every matcher.
func (ms Matchers) Matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// ParseMatchers parses each string with ParseMatcher.
func ParseMatchers(ss []string) (Matchers, error) {
	out := make(Matchers, 0, len(ss))
	for _, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
