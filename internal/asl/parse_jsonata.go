package asl

import (
	"fmt"
	"slices"
	"time"
)

// jsonataFields lists, per state type, the fields of a JSONata state.
var jsonataFields = map[stateType][]string{
	typePass:     {"Next", "End", "Output", "Assign"},
	typeTask:     {"Next", "End", "Resource", "Arguments", "Output", "Assign", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
	typeChoice:   {"Choices", "Default", "Output", "Assign"},
	typeWait:     {"Next", "End", "Seconds", "Timestamp", "Output", "Assign"},
	typeSucceed:  {"Output"},
	typeFail:     {"Error", "Cause"},
	typeParallel: {"Next", "End", "Branches", "Arguments", "Output", "Assign", "Retry", "Catch"},
	typeMap:      {"Next", "End", "Items", "ItemSelector", "ItemProcessor", "Iterator", "MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage", "Output", "Assign", "Retry", "Catch", "Label", "ItemReader", "ResultWriter", "ItemBatcher"},
}

// jsonataState parses a state whose QueryLanguage is JSONata: its values
// may be "{% expression %}" strings, and JSONPath fields are not allowed.
func (p *parser) jsonataState(st *state, def map[string]any) *state {
	st.jsonata = true
	allowed := jsonataFields[st.typ]
	f := p.fields(st.qname, def, append(slices.Clone(commonFields), allowed...)...)
	for _, k := range []string{"ItemReader", "ResultWriter", "ItemBatcher"} {
		if f.has(k) {
			f.fail(k, "%s", notSupported[k])
		}
	}
	p.queryLanguage(f)
	p.transition(f, st)
	st.jOutput = f.jtemplate("Output")
	st.jAssign = f.assign()
	switch st.typ {
	case typeTask:
		st.resource = f.str("Resource", true)
		st.jArgs = f.jtemplate("Arguments")
		st.timeout = 99999999 * time.Second
		st.timeout, st.jTimeout = f.secondsOrExpr("TimeoutSeconds", st.timeout)
		st.heartbeat, st.jBeat = f.secondsOrExpr("HeartbeatSeconds", 0)
		if st.jTimeout == nil && st.jBeat == nil && st.heartbeat > 0 && f.has("TimeoutSeconds") && st.heartbeat >= st.timeout {
			f.fail("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
		}
	case typeChoice:
		p.jsonataChoice(f, st)
	case typeWait:
		switch {
		case f.has("Seconds") == f.has("Timestamp"):
			f.fail("Seconds", "a JSONata Wait needs exactly one of Seconds or Timestamp")
		case f.has("Seconds"):
			st.waitKind = "Seconds"
			var d time.Duration
			d, st.jSeconds = f.secondsOrExpr("Seconds", 0)
			st.seconds = d.Seconds()
		default:
			st.waitKind = "Timestamp"
			if st.jTimestamp = f.jtemplate("Timestamp"); st.jTimestamp != nil {
				if c, ok := st.jTimestamp.(jConst); ok {
					s, _ := c.v.(string)
					if _, err := parseTimestamp(s); err != nil {
						f.fail("Timestamp", "%v", err)
					}
				}
			}
		}
	case typeFail:
		st.jError = f.jtemplate("Error")
		st.jCause = f.jtemplate("Cause")
	case typeParallel:
		st.jArgs = f.jtemplate("Arguments")
		p.parallel(f, st)
	case typeMap:
		st.jItems = f.jtemplate("Items")
		st.jItemSelector = f.jtemplate("ItemSelector")
		p.mapProcessor(f, st)
		if n, ok := f.integer("MaxConcurrency"); ok {
			st.maxConcurrency = n
		}
		if n, ok := f.integer("ToleratedFailureCount"); ok {
			st.toleratedCount, st.hasTolerance = n, true
		}
		if pct, ok := f.num("ToleratedFailurePercentage"); ok {
			st.toleratedPercent, st.hasTolerance = pct, true
		}
	}
	if st.typ == typeTask || st.typ == typeParallel || st.typ == typeMap {
		st.retry = p.retriers(f)
		st.catch = p.catchers(f, true)
	}
	return st
}

func (p *parser) jsonataChoice(f *fields, st *state) {
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
		rf := f.sub(field+".", obj, "Condition", "Next", "Output", "Assign", "Comment")
		rule := &choiceRule{next: rf.str("Next", false)}
		if rule.next == "" {
			rf.fail("Next", "required")
		}
		if rule.jCondition = rf.jtemplate("Condition"); rule.jCondition == nil {
			rf.fail("Condition", "required, a \"{%% boolean expression %%}\"")
		} else if c, ok := rule.jCondition.(jConst); ok {
			if _, isBool := c.v.(bool); !isBool {
				rf.fail("Condition", "must be a boolean or a \"{%% ... %%}\" expression")
			}
		}
		rule.jOutput = rf.jtemplate("Output")
		rule.jAssign = rf.assign()
		st.choices = append(st.choices, rule)
	}
}

// jtemplate reads a field that may hold "{% ... %}" expressions.
func (f *fields) jtemplate(name string) jtemplate {
	v, ok := f.m[name]
	if !ok {
		return nil
	}
	t, err := compileJ(v, "")
	if err != nil {
		f.fail(name, "%v", err)
		return nil
	}
	return t
}

// secondsOrExpr reads a positive number of seconds or an expression.
func (f *fields) secondsOrExpr(name string, def time.Duration) (time.Duration, jtemplate) {
	v, ok := f.m[name]
	if !ok {
		return def, nil
	}
	if s, isStr := v.(string); isStr {
		if _, isE := isExpr(s); isE {
			return def, f.jtemplate(name)
		}
	}
	if name == "Seconds" {
		n, _ := f.integer(name)
		return time.Duration(n) * time.Second, nil
	}
	return f.seconds(name), nil
}

// jAssign is an Assign block: variable name → value template, all
// evaluated against the same bindings before any is set.
type jAssign struct {
	names []string
	vals  []jtemplate
}

func (f *fields) assign() *jAssign {
	obj := f.assignObject()
	if obj == nil {
		return nil
	}
	a := &jAssign{}
	for _, name := range sortedKeys(obj) {
		if !f.checkVariableName(name) {
			continue
		}
		t, err := compileJ(obj[name], name+": ")
		if err != nil {
			f.fail("Assign", "%v", err)
			continue
		}
		a.names, a.vals = append(a.names, name), append(a.vals, t)
	}
	return a
}
