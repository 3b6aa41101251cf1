package asl

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

// Workflow variables ("Passing data between states with variables",
// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html):
// Assign on Pass, Task, Choice (and its rules), Wait, Parallel, Map and
// Catchers sets them; later states read them as $name. In JSONPath states an
// Assign value is a literal, or for a "name.$" key a path ($, $$, $var) or
// an intrinsic function.

// Limits of the Step Functions guide: 256 KiB for one state's assignments
// (and so for any one variable) and 10 MiB for all variables of an execution.
const (
	maxAssignBytes   = 256 * 1024
	maxVariableBytes = 10 * 1024 * 1024
	maxVariableName  = 80
)

// pathAssign is the Assign block of a JSONPath state, rule or catcher: one
// template per variable, all evaluated against the same $ and variables.
type pathAssign struct {
	names []string
	vals  []template
}

// assignObject is the Assign field of either query language as an object
// of variable names; nil when absent or not an object (a problem then).
func (f *fields) assignObject() map[string]any {
	v, ok := f.m["Assign"]
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		f.fail("Assign", "must be an object of variable names to values")
		return nil
	}
	return obj
}

// pathAssign reads the Assign field of a JSONPath state, Choice rule or
// catcher; nil when absent.
func (f *fields) pathAssign() *pathAssign {
	obj := f.assignObject()
	if obj == nil {
		return nil
	}
	a := &pathAssign{}
	seen := map[string]bool{}
	for _, key := range sortedKeys(obj) {
		name, _ := strings.CutSuffix(key, ".$")
		if !f.checkVariableName(name) {
			continue
		}
		if seen[name] {
			f.fail("Assign", "variable %q is assigned twice (as %q and %q)", name, name, name+".$")
			continue
		}
		seen[name] = true
		t, err := compileTemplate(map[string]any{key: obj[key]}, "Assign")
		if err != nil {
			f.fail("Assign", "%v", err)
			continue
		}
		// The one-key object compiled above holds the value's template.
		a.names, a.vals = append(a.names, name), append(a.vals, t.(*tmplObject).vals[0])
	}
	return a
}

// checkVariableName reports (and fails) names Step Functions rejects:
// variable names are Unicode identifiers of at most 80 characters, and
// "states" is reserved.
func (f *fields) checkVariableName(name string) bool {
	switch {
	case name == "states":
		f.fail("Assign", "\"states\" is a reserved variable name")
	case !validVariable(name):
		f.fail("Assign", "%q is not a valid variable name (a letter or _ first, then letters, digits or _; at most %d characters)", name, maxVariableName)
	default:
		return true
	}
	return false
}

func validVariable(name string) bool {
	if name == "" || name == "states" || utf8.RuneCountInString(name) > maxVariableName {
		return false
	}
	for i, r := range name {
		if i == 0 && !jsonpath.IsVariableStart(r) || !jsonpath.IsVariablePart(r) {
			return false
		}
	}
	return true
}

// eval evaluates every value against en ($ and the variables before the
// state), so the assignments of one state are simultaneous.
func (a *pathAssign) eval(en *env) (map[string]any, *Error) {
	if a == nil {
		return nil, nil
	}
	out := make(map[string]any, len(a.names))
	for i, name := range a.names {
		v, err := a.vals[i].eval(en)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// assignedNames lists the variables a state may assign (its own Assign,
// its Choice rules' and its catchers'), for the scope check.
func (st *state) assignedNames() []string {
	var names []string
	add := func(p *pathAssign, j *jAssign) {
		if p != nil {
			names = append(names, p.names...)
		}
		if j != nil {
			names = append(names, j.names...)
		}
	}
	add(st.assign, st.jAssign)
	for _, r := range st.choices {
		add(r.assign, r.jAssign)
	}
	for _, c := range st.catch {
		add(c.assign, c.jAssign)
	}
	return names
}

// checkVariableScopes enforces the scope rule: states inside a Parallel
// branch or Map item processor read the variables of the scopes around
// them, but cannot assign a variable that an outer scope assigns (the
// Map/Parallel state's own Assign belongs to the outer scope).
func (p *parser) checkVariableScopes(sc *scope, outer map[string]string) {
	mine := map[string]string{}
	for _, name := range sortedKeys(sc.states) {
		st := sc.states[name]
		for _, v := range st.assignedNames() {
			if owner, ok := outer[v]; ok {
				p.fail(st.qname, "Assign", "variable %q is assigned in an outer scope (state %q); states in a Parallel branch or Map iteration can read it but not assign it", v, owner)
				continue
			}
			if _, ok := mine[v]; !ok {
				mine[v] = st.qname
			}
		}
	}
	inner := make(map[string]string, len(outer)+len(mine))
	for k, v := range outer {
		inner[k] = v
	}
	for k, v := range mine {
		inner[k] = v
	}
	for _, name := range sortedKeys(sc.states) {
		st := sc.states[name]
		for _, b := range st.branches {
			p.checkVariableScopes(b, inner)
		}
		if st.processor != nil {
			p.checkVariableScopes(st.processor, inner)
		}
	}
}

// varSizes tracks the serialised size of the variables visible in one
// scope, to enforce the documented limits without re-encoding everything
// at every state.
type varSizes struct {
	each  map[string]int
	total int
}

func newVarSizes(vars map[string]any) *varSizes {
	s := &varSizes{each: make(map[string]int, len(vars))}
	for k, v := range vars {
		s.each[k] = jsonSize(v)
		s.total += s.each[k]
	}
	return s
}

// check applies a state's assignments to the tally, failing with
// States.DataLimitExceeded when they pass a limit.
func (s *varSizes) check(state string, assigned map[string]any) *Error {
	sum, total := 0, s.total
	sizes := make(map[string]int, len(assigned))
	for name, v := range assigned {
		n := jsonSize(v)
		sizes[name] = n
		sum += n
		total += n - s.each[name]
	}
	if sum > maxAssignBytes {
		return errorf(ErrDataLimitExceeded, "state %q assigns %d bytes of variables, more than the %d bytes (256 KiB) allowed per state", state, sum, maxAssignBytes)
	}
	if total > maxVariableBytes {
		return errorf(ErrDataLimitExceeded, "the variables would total %d bytes, more than the %d bytes (10 MiB) allowed per execution", total, maxVariableBytes)
	}
	for name, n := range sizes {
		s.each[name] = n
	}
	s.total = total
	return nil
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0 // variables hold plain JSON values, which always encode
	}
	return len(b)
}
