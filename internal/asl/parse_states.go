package asl

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

var commonFields = []string{"Type", "Comment", "QueryLanguage"}

// allowedFields lists, per state type, the fields the spec defines for
// JSONPath states. JSONata fields (Arguments, Output, Items) are listed so
// they get a clear error rather than "unknown field".
var allowedFields = map[stateType][]string{
	typePass:     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result", "Assign", "Output"},
	typeTask:     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", "Credentials", "Arguments", "Output", "Assign"},
	typeChoice:   {"Choices", "Default", "InputPath", "OutputPath", "Assign", "Output"},
	typeWait:     {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign", "Output"},
	typeSucceed:  {"InputPath", "OutputPath", "Output"},
	typeFail:     {"Error", "Cause", "ErrorPath", "CausePath"},
	typeParallel: {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Branches", "Retry", "Catch", "Arguments", "Output", "Assign"},
	typeMap:      {"Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector", "Parameters", "ItemProcessor", "Iterator", "MaxConcurrency", "MaxConcurrencyPath", "ResultSelector", "ResultPath", "Retry", "Catch", "ItemReader", "ResultWriter", "ItemBatcher", "ToleratedFailureCount", "ToleratedFailurePercentage", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath", "Label", "Items", "Arguments", "Output", "Assign"},
}

// notSupported are valid ASL fields this interpreter does not run in
// JSONPath states; they are rejected loudly instead of being silently ignored.
var notSupported = map[string]string{
	"Arguments":    "a JSONata field: set \"QueryLanguage\": \"JSONata\" on the state or machine",
	"Output":       "a JSONata field: set \"QueryLanguage\": \"JSONata\" on the state or machine",
	"Items":        "a JSONata field: set \"QueryLanguage\": \"JSONata\" on the state or machine",
	"ItemReader":   "distributed Map ItemReader is not supported locally",
	"ResultWriter": "distributed Map ResultWriter is not supported locally",
	"ItemBatcher":  "distributed Map ItemBatcher is not supported locally",
}

func (p *parser) state(prefix, name string, def map[string]any) *state {
	st := &state{name: name, qname: prefix + name}
	typ, _ := def["Type"].(string)
	st.typ = stateType(typ)
	allowed, ok := allowedFields[st.typ]
	if !ok {
		p.fail(st.qname, "Type", "unknown state type %q (want Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)", typ)
		return st
	}
	if ql, _ := def["QueryLanguage"].(string); ql == "JSONata" || ql == "" && p.jsonata {
		return p.jsonataState(st, def)
	}
	f := p.fields(st.qname, def, append(slices.Clone(commonFields), allowed...)...)
	for _, k := range sortedKeys(def) {
		if why, ok := notSupported[k]; ok && slices.Contains(allowed, k) {
			f.fail(k, "%s", why)
		}
	}
	p.queryLanguage(f)
	p.transition(f, st)
	if slices.Contains(allowed, "Assign") {
		st.assign = f.pathAssign()
	}
	if st.typ != typeFail {
		st.inputPath = f.pathField("InputPath", false)
		st.outputPath = f.pathField("OutputPath", false)
	}
	switch st.typ {
	case typePass:
		st.parameters = f.template("Parameters")
		st.resultPath = f.pathField("ResultPath", true)
		st.result, st.hasResult = def["Result"]
	case typeTask:
		p.task(f, st)
	case typeChoice:
		p.choice(f, st, def)
	case typeWait:
		p.wait(f, st)
	case typeFail:
		p.failFields(f, st)
	case typeParallel:
		p.parallel(f, st)
	case typeMap:
		p.mapState(f, st)
	}
	if st.typ == typeTask || st.typ == typeParallel || st.typ == typeMap {
		st.resultSelector = f.template("ResultSelector")
		st.resultPath = f.pathField("ResultPath", true)
		st.retry = p.retriers(f)
		st.catch = p.catchers(f, false)
	}
	return st
}

// transition checks Next/End: Choice, Succeed and Fail have neither; every
// other state needs exactly one.
func (p *parser) transition(f *fields, st *state) {
	st.next = f.str("Next", false)
	st.end = f.boolean("End")
	switch st.typ {
	case typeChoice, typeSucceed, typeFail:
		return // their field lists reject Next/End already
	}
	switch {
	case st.next != "" && st.end:
		f.fail("End", "a state cannot have both Next and End: true")
	case st.next == "" && !st.end:
		f.fail("Next", "required (or End: true)")
	case f.has("End") && !st.end:
		if st.next == "" {
			f.fail("End", "End: false needs a Next")
		}
	}
}

func (p *parser) task(f *fields, st *state) {
	st.resource = f.str("Resource", true)
	st.parameters = f.template("Parameters")
	if f.has("TimeoutSeconds") && f.has("TimeoutSecondsPath") {
		f.fail("TimeoutSecondsPath", "use TimeoutSeconds or TimeoutSecondsPath, not both")
	}
	if f.has("HeartbeatSeconds") && f.has("HeartbeatSecondsPath") {
		f.fail("HeartbeatSecondsPath", "use HeartbeatSeconds or HeartbeatSecondsPath, not both")
	}
	st.timeout = 99999999 * time.Second // the Step Functions default
	if f.has("TimeoutSeconds") {
		st.timeout = f.seconds("TimeoutSeconds")
	}
	st.timeoutPath = f.pathExpr("TimeoutSecondsPath")
	if f.has("HeartbeatSeconds") {
		st.heartbeat = f.seconds("HeartbeatSeconds")
		if f.has("TimeoutSeconds") && st.heartbeat >= st.timeout {
			f.fail("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
		}
	}
	st.heartbeatPath = f.pathExpr("HeartbeatSecondsPath")
}

// pathExpr is a *Path field that only takes a reference path.
func (f *fields) pathExpr(name string) *expr {
	e := f.expr(name, false)
	if e != nil && !e.path.Definite() {
		f.fail(name, "%q must be a reference path", e.src)
		return nil
	}
	return e
}

func (p *parser) wait(f *fields, st *state) {
	var used []string
	for _, k := range []string{"Seconds", "Timestamp", "SecondsPath", "TimestampPath"} {
		if f.has(k) {
			used = append(used, k)
		}
	}
	if len(used) != 1 {
		f.fail("Seconds", "a Wait needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath (has %s)", strings.Join(used, ", "))
		return
	}
	st.waitKind = used[0]
	switch st.waitKind {
	case "Seconds":
		n, _ := f.integer("Seconds")
		st.seconds = float64(n)
	case "Timestamp":
		ts, err := parseTimestamp(f.str("Timestamp", true))
		if err != nil {
			f.fail("Timestamp", "%v", err)
		}
		st.timestamp = ts
	case "SecondsPath":
		st.secondsPath = f.pathExpr("SecondsPath")
	case "TimestampPath":
		st.timestampTo = f.pathExpr("TimestampPath")
	}
}

func (p *parser) failFields(f *fields, st *state) {
	st.errName = f.str("Error", false)
	st.cause = f.str("Cause", false)
	if f.has("Error") && f.has("ErrorPath") {
		f.fail("ErrorPath", "use Error or ErrorPath, not both")
	}
	if f.has("Cause") && f.has("CausePath") {
		f.fail("CausePath", "use Cause or CausePath, not both")
	}
	st.errorPath = f.expr("ErrorPath", true)
	st.causePath = f.expr("CausePath", true)
}

func (p *parser) parallel(f *fields, st *state) {
	st.parameters = f.template("Parameters")
	branches := f.array("Branches")
	if len(branches) == 0 {
		f.fail("Branches", "required, must be a non-empty array")
	}
	for i, b := range branches {
		obj, ok := f.object(fmt.Sprintf("Branches[%d]", i), b)
		if !ok {
			continue
		}
		f.sub(fmt.Sprintf("Branches[%d].", i), obj, "StartAt", "States", "Comment") // reports unknown fields
		st.branches = append(st.branches, p.scope(fmt.Sprintf("%s/Branches[%d]/", st.qname, i), obj))
	}
}

func (p *parser) mapState(f *fields, st *state) {
	if f.has("ItemSelector") && f.has("Parameters") {
		f.fail("Parameters", "use ItemSelector (or the legacy Parameters), not both")
	}
	st.parameters = f.template("ItemSelector")
	if st.parameters == nil {
		st.parameters = f.template("Parameters")
	}
	if f.has("ItemsPath") {
		st.itemsPath = f.pathExpr("ItemsPath")
	}
	p.mapProcessor(f, st)
	if n, ok := f.integer("MaxConcurrency"); ok {
		st.maxConcurrency = n
	}
	st.maxConcurrencyPath = f.pathExpr("MaxConcurrencyPath")
	if n, ok := f.integer("ToleratedFailureCount"); ok {
		st.toleratedCount, st.hasTolerance = n, true
	}
	if pct, ok := f.num("ToleratedFailurePercentage"); ok {
		if pct < 0 || pct > 100 {
			f.fail("ToleratedFailurePercentage", "must be between 0 and 100")
		}
		st.toleratedPercent, st.hasTolerance = pct, true
	}
	st.toleratedCountPath = f.pathExpr("ToleratedFailureCountPath")
	st.toleratedPercentPath = f.pathExpr("ToleratedFailurePercentagePath")
}

func (p *parser) retriers(f *fields) []*retrier {
	var out []*retrier
	items := f.array("Retry")
	for i, raw := range items {
		field := fmt.Sprintf("Retry[%d]", i)
		obj, ok := f.object(field, raw)
		if !ok {
			continue
		}
		rf := f.sub(field+".", obj, "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
		r := &retrier{interval: 1, maxAttempts: 3, backoffRate: 2}
		r.errorEquals = errorEquals(rf, "Retry", i == len(items)-1)
		if n, ok := rf.integer("IntervalSeconds"); ok {
			if n == 0 {
				rf.fail("IntervalSeconds", "must be a positive integer")
			}
			r.interval = float64(n)
		}
		if n, ok := rf.integer("MaxAttempts"); ok {
			r.maxAttempts = n
		}
		if b, ok := rf.num("BackoffRate"); ok {
			if b < 1 {
				rf.fail("BackoffRate", "must be at least 1.0")
			}
			r.backoffRate = b
		}
		if n, ok := rf.integer("MaxDelaySeconds"); ok {
			if n == 0 {
				rf.fail("MaxDelaySeconds", "must be a positive integer")
			}
			r.maxDelay = float64(n)
		}
		switch js := rf.str("JitterStrategy", false); js {
		case "", "NONE":
		case "FULL":
			r.jitterFull = true
		default:
			rf.fail("JitterStrategy", "must be FULL or NONE, got %q", js)
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catchers(f *fields, jsonata bool) []*catcher {
	var out []*catcher
	items := f.array("Catch")
	for i, raw := range items {
		field := fmt.Sprintf("Catch[%d]", i)
		obj, ok := f.object(field, raw)
		if !ok {
			continue
		}
		allowed := []string{"ErrorEquals", "Next", "Comment", "ResultPath"}
		if jsonata {
			allowed = []string{"ErrorEquals", "Next", "Comment", "Output", "Assign"}
		}
		cf := f.sub(field+".", obj, append(allowed, "Assign", "Output")...)
		if !jsonata && cf.has("Output") {
			cf.fail("Output", "%s", notSupported["Output"])
		}
		c := &catcher{errorEquals: errorEquals(cf, "Catch", i == len(items)-1)}
		c.next = cf.str("Next", false)
		if c.next == "" {
			cf.fail("Next", "required")
		}
		if jsonata {
			c.jOutput = cf.jtemplate("Output")
			c.jAssign = cf.assign()
		} else {
			c.resultPath = cf.pathField("ResultPath", true)
			c.assign = cf.pathAssign()
		}
		out = append(out, c)
	}
	return out
}

// errorEquals checks the rule of the spec: States.ALL must be alone in its
// ErrorEquals, and that retrier/catcher must be the last one.
func errorEquals(f *fields, list string, last bool) []string {
	names := f.strings("ErrorEquals")
	if len(names) == 0 {
		f.fail("ErrorEquals", "required, must be a non-empty array of error names")
	}
	if slices.Contains(names, ErrAll) {
		if len(names) > 1 {
			f.fail("ErrorEquals", "States.ALL must appear alone")
		}
		if !last {
			f.fail("ErrorEquals", "States.ALL must be in the last %s entry", list)
		}
	}
	return names
}

// mapProcessor parses ItemProcessor (or the legacy Iterator).
func (p *parser) mapProcessor(f *fields, st *state) {
	procField := "ItemProcessor"
	if !f.has(procField) {
		procField = "Iterator"
	}
	if f.has("ItemProcessor") && f.has("Iterator") {
		f.fail("Iterator", "use ItemProcessor (or the legacy Iterator), not both")
	}
	if raw, ok := f.m[procField]; !ok {
		f.fail("ItemProcessor", "required")
	} else if obj, ok := f.object(procField, raw); ok {
		f.sub(procField+".", obj, "StartAt", "States", "Comment", "ProcessorConfig") // reports unknown fields
		if cfg, ok := obj["ProcessorConfig"].(map[string]any); ok {
			cf := f.sub(procField+".ProcessorConfig.", cfg, "Mode", "ExecutionType")
			if mode := cf.str("Mode", false); mode != "" && mode != "INLINE" && mode != "DISTRIBUTED" {
				cf.fail("Mode", "must be INLINE or DISTRIBUTED, got %q", mode)
			}
		}
		st.processor = p.scope(st.qname+"/", obj)
	}
}
