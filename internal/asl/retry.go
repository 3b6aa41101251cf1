package asl

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// withRetry runs a Task, Parallel or Map state, applying its Retry and
// Catch fields to whatever error the attempt raises.
func (r *run) withRetry(ctx context.Context, fr *frame, input any) (any, string, map[string]any, *Error) {
	st := fr.st
	attempts := make([]int, len(st.retry))
	for {
		out, assigned, err := r.attempt(ctx, fr, input)
		if err == nil {
			return out, st.next, assigned, nil
		}
		if err == errAborted || ctx.Err() != nil {
			return nil, "", nil, errAborted
		}
		if i := matchingRetrier(st.retry, err.Name); i >= 0 && attempts[i] < st.retry[i].maxAttempts {
			// Retries count against the transition bound too, so a huge
			// MaxAttempts on a virtual clock cannot spin for ever.
			if r.steps.Add(1) > r.maxStep {
				return nil, "", nil, errorf(ErrRuntime, "more than %d state transitions and retries: is there an endless loop?", r.maxStep)
			}
			delay := st.retry[i].delay(attempts[i])
			attempts[i]++
			fr.set(func(fr *frame) { fr.retryCount++ })
			r.emit(Event{Type: StateRetried, State: st.name, Input: input, Error: err})
			if r.clock.Sleep(ctx, delay) != nil {
				return nil, "", nil, errAborted
			}
			continue
		}
		for _, c := range st.catch {
			if !errorMatches(c.errorEquals, err.Name) {
				continue
			}
			out, assigned, cerr := r.caught(fr, c, input, err)
			if cerr != nil {
				return nil, "", nil, cerr
			}
			r.emit(Event{Type: StateCaught, State: st.name, Output: out, Error: err})
			return out, c.next, assigned, nil
		}
		return nil, "", nil, err
	}
}

// caught builds a catcher's output: {"Error","Cause"} placed by ResultPath,
// or in JSONata states the catcher's Output (default: that object) and Assign.
func (r *run) caught(fr *frame, c *catcher, input any, err *Error) (any, map[string]any, *Error) {
	errOut := map[string]any{"Error": err.Name, "Cause": err.Cause}
	if !fr.st.jsonata {
		// A catcher's Assign sees the error output as $.
		assigned, aerr := c.assign.eval(fr.env(errOut))
		if aerr != nil {
			return nil, nil, aerr
		}
		out, perr := applyResultPath(c.resultPath, input, errOut)
		return out, assigned, perr
	}
	b := fr.bindings(input)
	b.states["errorOutput"] = errOut
	return finishJSONata(b, errOut, c.jOutput, c.jAssign)
}

func (r *run) attempt(ctx context.Context, fr *frame, input any) (any, map[string]any, *Error) {
	var (
		result   any
		assigned map[string]any
		err      *Error
	)
	switch fr.st.typ {
	case typeTask:
		result, assigned, err = r.task(ctx, fr, input)
	case typeParallel:
		result, assigned, err = r.parallel(ctx, fr, input)
	default:
		result, assigned, err = r.mapState(ctx, fr, input)
	}
	if err != nil || !fr.st.jsonata {
		return result, assigned, err
	}
	b := fr.bindings(input)
	b.states["result"] = result
	return finishJSONata(b, result, fr.st.jOutput, fr.st.jAssign)
}

// matchingRetrier is the first retrier whose ErrorEquals names err (the
// spec: the first match applies, even if its attempts are used up).
func matchingRetrier(retry []*retrier, name string) int {
	for i, rt := range retry {
		if errorMatches(rt.errorEquals, name) {
			return i
		}
	}
	return -1
}

// errorMatches applies the wildcards of the Step Functions guide
// (concepts-error-handling): States.ALL matches any error except
// States.Runtime and States.DataLimitExceeded, which are terminal;
// States.TaskFailed matches any error except States.Timeout (and the
// terminal ones).
func errorMatches(list []string, name string) bool {
	if name == ErrRuntime || name == ErrDataLimitExceeded {
		return false
	}
	return slices.ContainsFunc(list, func(e string) bool {
		return e == name || e == ErrAll || e == ErrTaskFailed && name != ErrTimeout
	})
}

// delay is the wait before retry number n+1: IntervalSeconds ×
// BackoffRate^n, capped by MaxDelaySeconds, and with FULL jitter a uniform
// random fraction of that.
func (rt *retrier) delay(n int) time.Duration {
	secs := rt.interval * math.Pow(rt.backoffRate, float64(n))
	if rt.maxDelay > 0 {
		secs = min(secs, rt.maxDelay)
	}
	if rt.jitterFull {
		secs *= rand.Float64()
	}
	return time.Duration(secs * float64(time.Second))
}
