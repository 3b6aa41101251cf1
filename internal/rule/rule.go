// Package rule is StackStorm's rules engine: a rule names a trigger type,
// criteria on the trigger payload (every st2 operator, ANDed, plus Medic's
// any:/all: groups) and an action whose parameters are Jinja templates.
package rule

import (
	"gopkg.in/yaml.v3"

	"fmt"
	"strings"
	"sync"
)

// Rule types: a backstop rule fires only when no standard rule for the
// same trigger type matched.
const (
	TypeStandard = "standard"
	TypeBackstop = "backstop"
)

// Rule is one st2 rule.
type Rule struct {
	Ref, Pack, Name, Description, File string
	Enabled                            bool
	// Type is TypeStandard (also when empty) or TypeBackstop.
	Type              string
	TriggerType       string
	TriggerParameters map[string]any
	Criteria          Criteria
	Action            ActionRef
	// Lines maps field paths ("action.ref", "action.parameters.path") to
	// their line in File, for error messages.
	Lines map[string]int
	// SecretParams names the action parameters declared secret; Explain
	// masks their rendered values (explanations end up in logs). Pack
	// loading fills it from the action's schema.
	SecretParams map[string]bool
	// Consolidate is the rule's `consolidate:` block as written (Medic's
	// grouping and guardrails); the pack loader decodes it, merged over
	// the pack's own block.
	Consolidate *yaml.Node

	once     sync.Once
	problems []Problem
}

// ActionRef is the action a rule runs and its (templated) parameters.
type ActionRef struct {
	Ref        string
	Parameters map[string]any
}

// IsBackstop reports whether r is a backstop rule.
func (r *Rule) IsBackstop() bool { return r.Type == TypeBackstop }

// Line returns the line of a field path, or the best enclosing one.
func (r *Rule) Line(field string) int {
	for f := field; f != ""; {
		if l, ok := r.Lines[f]; ok {
			return l
		}
		i := strings.LastIndexByte(f, '.')
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// Compile checks operators and compiles every template of the rule (criteria
// patterns, action parameters) once. It returns the problems found; a rule
// with problems never matches. It is safe to call more than once.
func (r *Rule) Compile() []Problem {
	r.once.Do(func() {
		r.problems = r.Criteria.compile(r.File, "criteria", "trigger")
		if r.TriggerType == "" {
			r.problems = append(r.problems, Problem{File: r.File, Line: r.Line("trigger"), Field: "trigger.type", Reason: "is required"})
		}
		if r.Action.Ref == "" {
			r.problems = append(r.problems, Problem{File: r.File, Line: r.Line("action"), Field: "action.ref", Reason: "is required"})
		}
		if r.Type != "" && r.Type != TypeStandard && r.Type != TypeBackstop {
			r.problems = append(r.problems, Problem{File: r.File, Line: r.Line("type"), Field: "type.ref",
				Reason: fmt.Sprintf("unknown rule type %q (want %s or %s)", r.Type, TypeStandard, TypeBackstop)})
		}
		for name, v := range r.Action.Parameters {
			if err := checkTemplates(v); err != nil {
				field := "action.parameters." + name
				r.problems = append(r.problems, Problem{File: r.File, Line: r.Line(field), Field: field, Reason: err.Error()})
			}
		}
	})
	return r.problems
}

// Problem is one thing wrong with a pack file.
type Problem struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (p Problem) Error() string {
	loc := p.File
	if loc == "" {
		loc = "<rule>"
	}
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, p.Line)
	}
	if p.Field == "" {
		return loc + ": " + p.Reason
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Field, p.Reason)
}

// Problems is an error listing every problem, one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}
