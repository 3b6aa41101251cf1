package asl

import (
	"context"
	"time"
)

// bindings for a JSONata expression of this state: $states.input and
// $states.context, plus the variables in scope.
func (fr *frame) bindings(input any) *bindings {
	return &bindings{states: map[string]any{"input": input, "context": fr.context()}, vars: fr.vars}
}

// withVariables returns vars with assigned set, copying so that scopes
// sharing the old map (Parallel branches, Map items) are unaffected.
func withVariables(vars, assigned map[string]any) map[string]any {
	if len(assigned) == 0 {
		return vars
	}
	out := make(map[string]any, len(vars)+len(assigned))
	for k, v := range vars {
		out[k] = v
	}
	for k, v := range assigned {
		out[k] = v
	}
	return out
}

// finishJSONata evaluates Output (def when absent) and Assign against the
// same bindings: Assign sees the variables as they were before the state.
func finishJSONata(b *bindings, def any, output jtemplate, assign *jAssign) (any, map[string]any, *Error) {
	out := def
	if output != nil {
		var err *Error
		if out, err = output.evalJ(b); err != nil {
			return nil, nil, err
		}
	}
	if assign == nil {
		return out, nil, nil
	}
	assigned := make(map[string]any, len(assign.names))
	for i, name := range assign.names {
		v, err := assign.vals[i].evalJ(b)
		if err != nil {
			return nil, nil, err
		}
		assigned[name] = v
	}
	return out, assigned, nil
}

// executeJSONata runs the JSONata Pass, Choice, Wait, Succeed and Fail
// states (Task, Parallel and Map go through withRetry).
func (r *run) executeJSONata(ctx context.Context, fr *frame, input any) (any, string, map[string]any, *Error) {
	st := fr.st
	b := fr.bindings(input)
	output, assign, next := st.jOutput, st.jAssign, st.next
	switch st.typ {
	case typeFail:
		return nil, "", nil, r.failJSONata(b, st)
	case typeChoice:
		rule, err := chooseJSONata(st, b)
		if err != nil {
			return nil, "", nil, err
		}
		if rule == nil {
			next = st.defaultNext
		} else {
			next = rule.next
			if rule.jOutput != nil {
				output = rule.jOutput
			}
			if rule.jAssign != nil {
				assign = rule.jAssign
			}
		}
	case typeWait:
		if err := r.waitJSONata(ctx, st, b); err != nil {
			return nil, "", nil, err
		}
	}
	out, assigned, err := finishJSONata(b, input, output, assign)
	return out, next, assigned, err
}

// chooseJSONata returns the first rule whose Condition is true, nil for the
// Default, or States.NoChoiceMatched.
func chooseJSONata(st *state, b *bindings) (*choiceRule, *Error) {
	for _, rule := range st.choices {
		v, err := rule.jCondition.evalJ(b)
		if err != nil {
			return nil, err
		}
		ok, isBool := v.(bool)
		if !isBool {
			return nil, errorf(ErrQueryEvaluation, "the Condition of a rule in state %q returned %s, not a boolean", st.name, describe(v))
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

func (r *run) waitJSONata(ctx context.Context, st *state, b *bindings) *Error {
	var d time.Duration
	switch {
	case st.waitKind == "Seconds" && st.jSeconds == nil:
		d = time.Duration(st.seconds * float64(time.Second))
	case st.waitKind == "Seconds":
		v, err := st.jSeconds.evalJ(b)
		if err != nil {
			return err
		}
		n, ok := v.(float64)
		if !ok || n < 0 {
			return errorf(ErrQueryEvaluation, "Seconds of state %q must be a non-negative number, got %s", st.name, describe(v))
		}
		d = time.Duration(n * float64(time.Second))
	default:
		v, err := st.jTimestamp.evalJ(b)
		if err != nil {
			return err
		}
		s, _ := v.(string)
		ts, perr := parseTimestamp(s)
		if perr != nil {
			return errorf(ErrQueryEvaluation, "Timestamp of state %q: %v", st.name, perr)
		}
		d = ts.Sub(r.clock.Now())
	}
	if d > 0 && r.clock.Sleep(ctx, d) != nil {
		return errAborted
	}
	return nil
}

func (r *run) failJSONata(b *bindings, st *state) *Error {
	e := &Error{}
	for _, f := range []struct {
		t    jtemplate
		dest *string
	}{{st.jError, &e.Name}, {st.jCause, &e.Cause}} {
		if f.t == nil {
			continue
		}
		v, err := f.t.evalJ(b)
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return errorf(ErrQueryEvaluation, "Error and Cause of state %q must be strings, got %s", st.name, describe(v))
		}
		*f.dest = s
	}
	return e
}

// jsonataSeconds evaluates a TimeoutSeconds/HeartbeatSeconds expression.
func jsonataSeconds(t jtemplate, b *bindings, name string) (time.Duration, *Error) {
	v, err := t.evalJ(b)
	if err != nil {
		return 0, err
	}
	n, ok := v.(float64)
	if !ok || n <= 0 || n != float64(int64(n)) {
		return 0, errorf(ErrQueryEvaluation, "%s must be a positive integer, got %s", name, describe(v))
	}
	return time.Duration(n) * time.Second, nil
}
