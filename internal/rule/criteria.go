package rule

import (
	"fmt"
	"strings"

	"github.com/medic-sre/medic/internal/template"
)

// Criteria are ANDed, in order.
type Criteria []Criterion

// Criterion is either a test of one payload key or, when Group is set, an
// any:/all: group of nested criteria lists (Medic's extension to st2).
type Criterion struct {
	// Key is the key as written, e.g. "trigger.state" or "trigger.tags#2":
	// the "#..." suffix only lets one key appear twice in a YAML mapping.
	Key string
	// Operator is the operator as written (any case, aliases allowed).
	Operator string
	// Pattern is the raw pattern; strings may be Jinja templates.
	Pattern any
	// Condition is the search operator's any, all, any2any or all2any.
	Condition string
	// Search holds the search operator's per-item criteria (keys "item.x").
	Search Criteria
	// Group is "any" or "all" for a group; Members are then the criteria
	// lists it combines (each list itself ANDed).
	Group   string
	Members []Criteria
	Line    int

	op   op        // resolved by compile
	segs []segment // Path parsed by compile
}

// Path is the key without its "#tag" suffix.
func (c *Criterion) Path() string {
	if i := strings.IndexByte(c.Key, '#'); i >= 0 {
		return c.Key[:i]
	}
	return c.Key
}

// GroupOf returns "any" or "all" when key (without #tag) names a group.
func GroupOf(key string) string {
	if i := strings.IndexByte(key, '#'); i >= 0 {
		key = key[:i]
	}
	switch strings.ToLower(key) {
	case "any", "all":
		return strings.ToLower(key)
	}
	return ""
}

// compile checks and prepares criteria whose keys start with root:
// "trigger" at the top, "item" inside a search.
func (cs Criteria) compile(file, field, root string) []Problem {
	var ps []Problem
	for i := range cs {
		ps = append(ps, cs[i].compile(file, field, root)...)
	}
	return ps
}

func (c *Criterion) compile(file, parent, root string) []Problem {
	field := parent + "." + c.Key
	bad := func(sub, reason string) []Problem {
		f := field
		if sub != "" {
			f += "." + sub
		}
		return []Problem{{File: file, Line: c.Line, Field: f, Reason: reason}}
	}
	if c.Group != "" {
		if len(c.Members) == 0 {
			return bad("", "an "+c.Group+" group needs at least one list entry of criteria")
		}
		var ps []Problem
		for i, m := range c.Members {
			ps = append(ps, m.compile(file, fmt.Sprintf("%s[%d]", field, i), root)...)
		}
		return ps
	}
	if c.Operator == "" {
		return bad("type", "is required (the operator, e.g. equals)")
	}
	o, ok := lookupOp(c.Operator)
	if !ok {
		return bad("type", fmt.Sprintf("unknown operator %q (known: %s)", c.Operator, strings.Join(OperatorNames(), ", ")))
	}
	c.op = o
	if first := strings.SplitN(c.Path(), ".", 2)[0]; first != root {
		return bad("", fmt.Sprintf("key must start with %q (trigger.* at the top, item.* inside a search)", root+"."))
	}
	segs, err := parsePath(c.Path())
	if err != nil {
		return bad("", err.Error())
	}
	c.segs = segs
	if o.name == opSearch {
		return c.compileSearch(file, field, bad)
	}
	if err := checkTemplates(c.Pattern); err != nil {
		return bad("pattern", err.Error())
	}
	if c.Condition != "" {
		return bad("condition", "only the search operator takes a condition")
	}
	if err := o.checkStatic(c.Pattern); err != nil {
		return bad("pattern", err.Error())
	}
	return nil
}

func (c *Criterion) compileSearch(file, field string, bad func(string, string) []Problem) []Problem {
	switch c.Condition {
	case "any", "all", "any2any", "all2any":
	case "":
		return bad("condition", "is required for search (any, all, any2any or all2any)")
	default:
		return bad("condition", fmt.Sprintf("unknown search condition %q (any, all, any2any or all2any)", c.Condition))
	}
	if len(c.Search) == 0 {
		return bad("pattern", "search needs a mapping of item criteria, e.g. item.name: {type: equals, pattern: x}")
	}
	return c.Search.compile(file, field+".pattern", "item")
}

// checkTemplates compiles the templates inside a pattern or parameter.
func checkTemplates(v any) error { return template.Check(v) }
