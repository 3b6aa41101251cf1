package asl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/asl/jsonorder"
)

// DefinitionError is one problem Parse found, naming the state and field.
type DefinitionError struct {
	State  string // qualified: "Outer/Inner" inside Parallel branches and Map processors
	Field  string
	Reason string
}

func (e *DefinitionError) Error() string {
	var b strings.Builder
	if e.State != "" {
		fmt.Fprintf(&b, "state %q: ", e.State)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Machine is a parsed, validated state machine; it is immutable and safe to
// Run concurrently.
type Machine struct {
	top     *scope
	timeout time.Duration // TimeoutSeconds of the whole machine, 0 = none
	Comment string
}

// scope is a set of states with a StartAt: the machine, a Parallel branch or
// a Map item processor. Next can only name states of the same scope.
type scope struct {
	startAt string
	states  map[string]*state
}

type stateType string

const (
	typePass     stateType = "Pass"
	typeTask     stateType = "Task"
	typeChoice   stateType = "Choice"
	typeWait     stateType = "Wait"
	typeSucceed  stateType = "Succeed"
	typeFail     stateType = "Fail"
	typeParallel stateType = "Parallel"
	typeMap      stateType = "Map"
)

// state holds every field of every state type; which are set depends on typ.
type state struct {
	name, qname string
	typ         stateType
	next        string
	end         bool

	inputPath, outputPath, resultPath *pathField
	parameters, resultSelector        template // Parameters (ItemSelector for Map)
	result                            any
	hasResult                         bool
	assign                            *pathAssign // Assign (JSONPath states)

	// Task
	resource                   string
	timeout, heartbeat         time.Duration
	timeoutPath, heartbeatPath *expr
	retry                      []*retrier
	catch                      []*catcher

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Wait
	seconds                  float64
	timestamp                time.Time
	waitKind                 string // the field used: Seconds, Timestamp, SecondsPath, TimestampPath
	secondsPath, timestampTo *expr

	// JSONata states (see jsonata.go); nil templates mean "the default".
	jsonata                               bool
	jArgs, jOutput, jItems, jItemSelector jtemplate
	jSeconds, jTimestamp, jTimeout, jBeat jtemplate
	jError, jCause                        jtemplate
	jAssign                               *jAssign

	// Fail
	errName, cause       string
	errorPath, causePath *expr

	// Parallel
	branches []*scope

	// Map
	itemsPath            *expr
	processor            *scope
	maxConcurrency       int
	maxConcurrencyPath   *expr
	toleratedCount       int
	toleratedPercent     float64
	toleratedCountPath   *expr
	toleratedPercentPath *expr
	hasTolerance         bool
}

// pathField is InputPath/OutputPath/ResultPath: a path, or JSON null.
type pathField struct {
	null bool
	expr *expr
}

type retrier struct {
	errorEquals []string
	interval    float64
	maxAttempts int
	backoffRate float64
	maxDelay    float64 // 0 = no cap
	jitterFull  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  *pathField
	assign      *pathAssign
	jOutput     jtemplate // JSONata states
	jAssign     *jAssign
}

// Parse reads and fully validates an ASL definition. All problems found are
// returned together (errors.Join of *DefinitionError).
func Parse(definition []byte) (*Machine, error) {
	// Decoded with key order so templates (Parameters, Result...) build
	// their objects in the definition's order, as Step Functions does.
	raw, err := jsonorder.Unmarshal(definition)
	if err != nil {
		return nil, &DefinitionError{Reason: "not valid JSON: " + err.Error()}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, &DefinitionError{Reason: "the definition must be a JSON object"}
	}
	p := &parser{}
	f := p.fields("", obj, "StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage")
	m := &Machine{Comment: f.str("Comment", false)}
	p.jsonata = p.queryLanguage(f)
	if f.has("TimeoutSeconds") {
		m.timeout = f.seconds("TimeoutSeconds")
	}
	m.top = p.scope("", obj)
	p.checkVariableScopes(m.top, map[string]string{})
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return m, nil
}

type parser struct {
	errs    []error
	jsonata bool // the machine's QueryLanguage is JSONata
}

// queryLanguage reads a QueryLanguage field: true for JSONata, and the
// inherited default when absent.
func (p *parser) queryLanguage(f *fields) bool {
	switch ql := f.str("QueryLanguage", false); ql {
	case "":
		return p.jsonata
	case "JSONPath":
		return false
	case "JSONata":
		return true
	default:
		f.fail("QueryLanguage", "must be JSONPath or JSONata, got %q", ql)
		return p.jsonata
	}
}

func (p *parser) fail(state, field, format string, args ...any) {
	p.errs = append(p.errs, &DefinitionError{State: state, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// scope parses StartAt + States of obj; prefix qualifies nested state names.
func (p *parser) scope(prefix string, obj map[string]any) *scope {
	owner := strings.TrimSuffix(prefix, "/")
	sc := &scope{states: map[string]*state{}}
	start, ok := obj["StartAt"].(string)
	if !ok || start == "" {
		p.fail(owner, "StartAt", "required, must be a state name")
	}
	sc.startAt = start
	states, ok := obj["States"].(map[string]any)
	if !ok || len(states) == 0 {
		p.fail(owner, "States", "required, must be an object of states")
		return sc
	}
	for _, name := range sortedKeys(states) {
		def, ok := states[name].(map[string]any)
		if !ok {
			p.fail(prefix+name, "", "must be an object")
			continue
		}
		if len(name) > 80 {
			p.fail(prefix+name, "", "state names are limited to 80 characters")
		}
		sc.states[name] = p.state(prefix, name, def)
	}
	if _, ok := sc.states[start]; start != "" && !ok && len(states) > 0 {
		p.fail(owner, "StartAt", "no state named %q", start)
	}
	p.checkTransitions(sc)
	return sc
}

// checkTransitions verifies every Next/Default/catch target exists in the
// scope and that every state can be reached from StartAt.
func (p *parser) checkTransitions(sc *scope) {
	target := func(st *state, field, name string) {
		if _, ok := sc.states[name]; !ok {
			p.fail(st.qname, field, "no state named %q", name)
		}
	}
	for _, name := range sortedKeys(sc.states) {
		st := sc.states[name]
		if st.next != "" {
			target(st, "Next", st.next)
		}
		if st.defaultNext != "" {
			target(st, "Default", st.defaultNext)
		}
		for i, c := range st.choices {
			target(st, fmt.Sprintf("Choices[%d].Next", i), c.next)
		}
		for i, c := range st.catch {
			target(st, fmt.Sprintf("Catch[%d].Next", i), c.next)
		}
	}
	reached := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		st, ok := sc.states[name]
		if !ok || reached[name] {
			return
		}
		reached[name] = true
		for _, n := range st.successors() {
			visit(n)
		}
	}
	visit(sc.startAt)
	if _, ok := sc.states[sc.startAt]; !ok {
		return // already reported
	}
	for _, name := range sortedKeys(sc.states) {
		if !reached[name] {
			p.fail(sc.states[name].qname, "", "unreachable: no transition leads here from StartAt %q", sc.startAt)
		}
	}
}

func (st *state) successors() []string {
	var out []string
	if st.next != "" {
		out = append(out, st.next)
	}
	if st.defaultNext != "" {
		out = append(out, st.defaultNext)
	}
	for _, c := range st.choices {
		out = append(out, c.next)
	}
	for _, c := range st.catch {
		out = append(out, c.next)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
