package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medic-sre/medic/internal/asl/jsonorder"
	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

// DefaultMaxTransitions bounds state transitions per execution so a
// runaway loop fails (States.Runtime) instead of spinning forever under a
// virtual clock. Step Functions has a similar bound (25,000 history events).
const DefaultMaxTransitions = 100000

// run is one execution in progress.
type run struct {
	m       *Machine
	opts    Options
	clock   Clock
	tokens  *TokenHub
	base    map[string]any // context object fields common to all states
	obsMu   sync.Mutex
	steps   atomic.Int64
	maxStep int64
	started time.Time
}

// Run executes the machine on input (a plain JSON value). A failed
// execution returns *Error; a cancelled ctx returns an error wrapping
// ctx.Err().
func (m *Machine) Run(ctx context.Context, input any, opts Options) (output any, err error) {
	in, nerr := normalize(input)
	if nerr != nil {
		return nil, errorf(ErrRuntime, "execution input: %v", nerr)
	}
	r := m.newRun(in, opts)
	if m.timeout > 0 {
		if _, instant := r.clock.(instantClock); !instant {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, m.timeout, errExecutionTimeout)
			defer cancel()
		}
	}
	r.emit(Event{Type: ExecutionStarted, Input: in})
	out, aerr := r.runScope(ctx, m.top, in, nil)
	if aerr == nil {
		r.emit(Event{Type: ExecutionSucceeded, Output: out})
		return out, nil
	}
	if aerr == errAborted {
		if errors.Is(context.Cause(ctx), errExecutionTimeout) {
			aerr = errorf(ErrTimeout, "the execution ran longer than its TimeoutSeconds (%s)", m.timeout)
		} else {
			r.emit(Event{Type: ExecutionFailed, Error: &Error{Name: "Aborted", Cause: ctx.Err().Error()}})
			return nil, fmt.Errorf("execution aborted: %w", ctx.Err())
		}
	}
	r.emit(Event{Type: ExecutionFailed, Error: aerr})
	return nil, aerr
}

var errExecutionTimeout = errors.New("execution TimeoutSeconds reached")

// errAborted marks "the context ended"; Run turns it into the right error.
var errAborted = &Error{Name: "Aborted", Cause: "the execution was stopped"}

func (m *Machine) newRun(input any, opts Options) *run {
	r := &run{m: m, opts: opts, clock: opts.Clock, tokens: opts.Tokens, maxStep: DefaultMaxTransitions}
	if r.clock == nil {
		r.clock = realClock{}
	}
	r.started = r.clock.Now()
	if r.tokens == nil {
		r.tokens = NewTokenHub()
	}
	name := opts.ExecutionName
	if name == "" {
		name = randomHex(16)
	}
	machine := opts.MachineName
	if machine == "" {
		machine = "local"
	}
	machineArn := "arn:aws:states:local:000000000000:stateMachine:" + machine
	execution := map[string]any{
		"Id":        "arn:aws:states:local:000000000000:execution:" + machine + ":" + name,
		"Input":     input,
		"Name":      name,
		"RoleArn":   "arn:aws:iam::000000000000:role/medic-local",
		"StartTime": formatTime(r.started),
		// 0 until an execution is redriven (RedriveTime appears only then);
		// local executions are never redriven.
		"RedriveCount": 0.0,
	}
	jsonorder.Remember(execution, executionFields) // the order Step Functions documents
	r.base = map[string]any{
		"Execution":    execution,
		"StateMachine": map[string]any{"Id": machineArn, "Name": machine},
	}
	mergeInto(r.base, opts.Context)
	return r
}

// executionFields is the order of $$.Execution's fields.
var executionFields = []string{"Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount"}

// mergeInto deep-merges src into dst (objects merge, anything else replaces).
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if cur, ok := dst[k].(map[string]any); ok {
				clone := maps.Clone(cur)
				jsonorder.Inherit(clone, cur, "")
				cur = clone
				mergeInto(cur, sub)
				dst[k] = cur
				continue
			}
		}
		dst[k] = deepCopy(v)
	}
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (r *run) emit(ev Event) {
	if r.opts.Observer == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = r.clock.Now()
	}
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	r.opts.Observer(ev)
}

// runScope runs states from sc.startAt until one ends the scope. vars are
// the workflow variables visible on entry; Assign in the scope changes only
// the scope's own copy, as in Step Functions.
func (r *run) runScope(ctx context.Context, sc *scope, input any, vars map[string]any) (any, *Error) {
	name := sc.startAt
	var sizes *varSizes // built at the first assignment
	for {
		if ctx.Err() != nil {
			return nil, errAborted
		}
		if r.steps.Add(1) > r.maxStep {
			return nil, errorf(ErrRuntime, "more than %d state transitions: is there an endless loop?", r.maxStep)
		}
		// With a real clock a context deadline enforces this too; a virtual
		// clock only moves between states, so checking here is exact enough.
		if r.m.timeout > 0 && r.clock.Now().Sub(r.started) > r.m.timeout {
			return nil, errorf(ErrTimeout, "the execution ran longer than its TimeoutSeconds (%s)", r.m.timeout)
		}
		st := sc.states[name]
		fr := &frame{r: r, st: st, entered: r.clock.Now(), vars: vars}
		r.emit(Event{Type: StateEntered, State: st.name, Input: input, Time: fr.entered})
		out, next, assigned, err := r.execute(ctx, fr, input)
		if err != nil {
			return nil, err
		}
		if len(assigned) > 0 {
			if sizes == nil {
				sizes = newVarSizes(vars)
			}
			if err := sizes.check(st.name, assigned); err != nil {
				return nil, err
			}
			vars = withVariables(vars, assigned)
		}
		r.emit(Event{Type: StateExited, State: st.name, Output: out, Assigned: assigned})
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

// frame is one state's visit: what its context object ($$) is built from.
type frame struct {
	r          *run
	st         *state
	entered    time.Time
	retryCount int
	token      string
	item       map[string]any // Map.Item while evaluating ItemSelector
	cached     map[string]any // the context object; reset when a field above changes
	vars       map[string]any // workflow variables as they were when the state began
}

// context builds the context object ($$) once per change of the frame.
func (fr *frame) context() map[string]any {
	if fr.cached == nil {
		fr.cached = fr.buildContext()
	}
	return fr.cached
}

// set changes the retry count, token or Map item, dropping the cached
// context object.
func (fr *frame) set(change func(*frame)) {
	change(fr)
	fr.cached = nil
}

func (fr *frame) buildContext() map[string]any {
	c := make(map[string]any, len(fr.r.base)+3)
	for k, v := range fr.r.base {
		c[k] = v
	}
	c["State"] = map[string]any{
		"Name": fr.st.name, "EnteredTime": formatTime(fr.entered), "RetryCount": float64(fr.retryCount),
	}
	if fr.token != "" {
		c["Task"] = map[string]any{"Token": fr.token}
	}
	if fr.item != nil {
		c["Map"] = map[string]any{"Item": fr.item}
	}
	return c
}

func (fr *frame) env(input any) *env { return &env{input: input, context: fr.context, vars: fr.vars} }

// execute runs one state, returning its output and the next state ("" when
// the scope ends).
func (r *run) execute(ctx context.Context, fr *frame, input any) (out any, next string, assigned map[string]any, err *Error) {
	st := fr.st
	switch {
	case st.typ == typeTask || st.typ == typeParallel || st.typ == typeMap:
		return r.withRetry(ctx, fr, input)
	case st.jsonata:
		return r.executeJSONata(ctx, fr, input)
	case st.typ == typeFail:
		return nil, "", nil, r.failState(fr, input)
	}
	return r.executeJSONPath(ctx, fr, input)
}

// executeJSONPath runs the JSONPath Pass, Choice, Wait and Succeed states.
// Assign sees $ as the state's result: for Pass its Result (or Parameters
// output, or effective input) before ResultPath; for Choice and Wait the
// effective input (after InputPath).
func (r *run) executeJSONPath(ctx context.Context, fr *frame, input any) (any, string, map[string]any, *Error) {
	st := fr.st
	eff, err := applyInputPath(st, fr.env(input))
	if err != nil {
		return nil, "", nil, err
	}
	next, result, assign := st.next, eff, st.assign
	switch st.typ {
	case typePass:
		result, err = r.passResult(fr, eff)
	case typeChoice:
		var rule *choiceRule
		if rule, err = choose(st, fr.env(eff)); rule != nil {
			next = rule.next
			if rule.assign != nil {
				assign = rule.assign
			}
		} else {
			next = st.defaultNext
		}
	case typeWait:
		err = r.wait(ctx, fr, eff)
	}
	if err != nil {
		return nil, "", nil, err
	}
	assigned, err := assign.eval(fr.env(result))
	if err != nil {
		return nil, "", nil, err
	}
	out := eff
	if st.typ == typePass {
		if out, err = applyResultPath(st.resultPath, input, result); err != nil {
			return nil, "", nil, err
		}
	}
	out, err = applyOutputPath(st, fr.env(out))
	return out, next, assigned, err
}

// passResult is a Pass state's result: Result, else the Parameters
// output, else the effective input.
func (r *run) passResult(fr *frame, eff any) (any, *Error) {
	st := fr.st
	if st.hasResult {
		return deepCopy(st.result), nil
	}
	if st.parameters != nil {
		return st.parameters.eval(fr.env(eff))
	}
	return eff, nil
}

// choose returns the first rule that matches, nil for the Default, or
// States.NoChoiceMatched.
func choose(st *state, en *env) (*choiceRule, *Error) {
	for _, rule := range st.choices {
		ok, err := rule.cond.eval(en)
		if err != nil {
			return nil, err
		}
		if ok {
			return rule, nil
		}
	}
	if st.defaultNext != "" {
		return nil, nil
	}
	return nil, errorf(ErrNoChoiceMatched, "no choice rule matched and there is no Default in state %q", st.name)
}

func (r *run) wait(ctx context.Context, fr *frame, eff any) *Error {
	st := fr.st
	var d time.Duration
	switch st.waitKind {
	case "Seconds":
		d = time.Duration(st.seconds * float64(time.Second))
	case "Timestamp":
		d = st.timestamp.Sub(r.clock.Now())
	case "SecondsPath":
		v, err := st.secondsPath.eval(fr.env(eff))
		if err != nil {
			return err
		}
		n, ok := v.(float64)
		if !ok || n < 0 {
			return errorf(ErrRuntime, "SecondsPath %s must name a non-negative number, got %s", st.secondsPath.src, describe(v))
		}
		d = time.Duration(n * float64(time.Second))
	case "TimestampPath":
		v, err := st.timestampTo.eval(fr.env(eff))
		if err != nil {
			return err
		}
		s, _ := v.(string)
		ts, perr := parseTimestamp(s)
		if perr != nil {
			return errorf(ErrRuntime, "TimestampPath %s: %v", st.timestampTo.src, perr)
		}
		d = ts.Sub(r.clock.Now())
	}
	if d <= 0 {
		return nil
	}
	if r.clock.Sleep(ctx, d) != nil {
		return errAborted
	}
	return nil
}

func (r *run) failState(fr *frame, input any) *Error {
	st := fr.st
	e := &Error{Name: st.errName, Cause: st.cause}
	for _, f := range []struct {
		x    *expr
		dest *string
		name string
	}{{st.errorPath, &e.Name, "ErrorPath"}, {st.causePath, &e.Cause, "CausePath"}} {
		if f.x == nil {
			continue
		}
		v, err := f.x.eval(fr.env(input))
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return errorf(ErrRuntime, "%s %s must yield a string, got %s", f.name, f.x.src, describe(v))
		}
		*f.dest = s
	}
	return e
}

func applyInputPath(st *state, en *env) (any, *Error) {
	switch {
	case st.inputPath == nil:
		return en.input, nil
	case st.inputPath.null:
		return map[string]any{}, nil
	}
	return st.inputPath.expr.eval(en)
}

func applyOutputPath(st *state, en *env) (any, *Error) {
	switch {
	case st.outputPath == nil:
		return en.input, nil
	case st.outputPath.null:
		return map[string]any{}, nil
	}
	return st.outputPath.expr.eval(en)
}

// applyResultPath places result into the raw state input: no ResultPath or
// "$" replaces it, null discards the result, a path sets that field.
func applyResultPath(rp *pathField, raw, result any) (any, *Error) {
	switch {
	case rp == nil:
		return result, nil
	case rp.null:
		return raw, nil
	case rp.expr.path.IsRoot():
		return result, nil
	}
	out, err := rp.expr.path.Set(raw, result)
	if err != nil {
		return nil, errorf(ErrResultPathMatchFailure, "ResultPath %s cannot be applied to the state input: %v", rp.expr.src, err)
	}
	return out, nil
}

// describe shows a value's JSON type and a short rendering, for errors.
func describe(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:80], "…"...)
	}
	return jsonpath.TypeName(v) + " " + string(b)
}
