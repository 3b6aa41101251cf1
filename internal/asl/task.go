package asl

import (
	"context"
	"errors"
	"strings"
	"time"
)

const waitForTaskTokenSuffix = ".waitForTaskToken"

// task runs one attempt of a Task state: input processing, the handler
// (and the token wait), then result processing.
func (r *run) task(ctx context.Context, fr *frame, raw any) (any, map[string]any, *Error) {
	st := fr.st
	eff, err := applyInputPath(st, fr.env(raw))
	if err != nil {
		return nil, nil, err
	}
	timeout, heartbeat, err := r.taskLimits(fr, eff)
	if err != nil {
		return nil, nil, err
	}
	var wait *tokenWait
	if strings.HasSuffix(st.resource, waitForTaskTokenSuffix) {
		var token string
		token, wait = r.tokens.newToken()
		fr.set(func(fr *frame) { fr.token = token })
		defer r.tokens.forget(fr.token)
	}
	if st.parameters != nil {
		if eff, err = st.parameters.eval(fr.env(eff)); err != nil {
			return nil, nil, err
		}
	}
	if st.jArgs != nil {
		if eff, err = st.jArgs.evalJ(fr.bindings(raw)); err != nil {
			return nil, nil, err
		}
	}
	req := TaskRequest{Resource: st.resource, StateName: st.name, Input: deepCopy(eff), TaskToken: fr.token, Context: fr.context()}
	r.emit(Event{Type: TaskScheduled, State: st.name, Input: eff})
	result, err := r.invoke(ctx, req, wait, timeout, heartbeat)
	if err != nil {
		if err != errAborted {
			r.emit(Event{Type: TaskFailed, State: st.name, Error: err})
		}
		return nil, nil, err
	}
	r.emit(Event{Type: TaskSucceeded, State: st.name, Output: result})
	return r.processResult(fr, raw, result)
}

// processResult applies ResultSelector, Assign (with $ the selected
// result), ResultPath and OutputPath, the order of the Step Functions guide.
func (r *run) processResult(fr *frame, raw, result any) (any, map[string]any, *Error) {
	st := fr.st
	var err *Error
	if st.resultSelector != nil {
		if result, err = st.resultSelector.eval(fr.env(result)); err != nil {
			return nil, nil, err
		}
	}
	assigned, err := st.assign.eval(fr.env(result))
	if err != nil {
		return nil, nil, err
	}
	out, err := applyResultPath(st.resultPath, raw, result)
	if err != nil {
		return nil, nil, err
	}
	out, err = applyOutputPath(st, fr.env(out))
	return out, assigned, err
}

func (r *run) taskLimits(fr *frame, eff any) (timeout, heartbeat time.Duration, err *Error) {
	st := fr.st
	timeout, heartbeat = st.timeout, st.heartbeat
	read := func(x *expr, name string) (time.Duration, *Error) {
		v, err := x.eval(fr.env(eff))
		if err != nil {
			return 0, err
		}
		n, ok := v.(float64)
		if !ok || n <= 0 || n != float64(int64(n)) {
			return 0, errorf(ErrRuntime, "%s %s must name a positive integer, got %s", name, x.src, describe(v))
		}
		return time.Duration(n) * time.Second, nil
	}
	if st.timeoutPath != nil {
		if timeout, err = read(st.timeoutPath, "TimeoutSecondsPath"); err != nil {
			return 0, 0, err
		}
	}
	if st.heartbeatPath != nil {
		if heartbeat, err = read(st.heartbeatPath, "HeartbeatSecondsPath"); err != nil {
			return 0, 0, err
		}
	}
	if st.jTimeout != nil {
		if timeout, err = jsonataSeconds(st.jTimeout, fr.bindings(eff), "TimeoutSeconds"); err != nil {
			return 0, 0, err
		}
	}
	if st.jBeat != nil {
		if heartbeat, err = jsonataSeconds(st.jBeat, fr.bindings(eff), "HeartbeatSeconds"); err != nil {
			return 0, 0, err
		}
	}
	return timeout, heartbeat, nil
}

type taskOutcome struct {
	out any
	err error
}

// invoke calls the handler and, for .waitForTaskToken, then waits for the
// token's answer, enforcing TimeoutSeconds and HeartbeatSeconds throughout.
func (r *run) invoke(ctx context.Context, req TaskRequest, wait *tokenWait, timeout, heartbeat time.Duration) (any, *Error) {
	if r.opts.Tasks == nil {
		return nil, errorf(ErrTaskFailed, "no task handler is configured for resource %q", req.Resource)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel() // also stops a hung handler once we give up on it
	done := make(chan taskOutcome, 1)
	go func() {
		out, err := r.opts.Tasks.Invoke(tctx, req)
		done <- taskOutcome{out, err}
	}()
	limits := newTaskTimer(ctx, r.clock, timeout, heartbeat)
	defer limits.stop()

	var tokenResults <-chan tokenResult
	var beats <-chan struct{}
	if wait != nil {
		tokenResults, beats = wait.result, wait.heartbeat
	}
	for {
		select {
		case o := <-done:
			done = nil
			if o.err != nil {
				return nil, taskError(o.err)
			}
			completed, isCompleted := o.out.(TaskCompleted)
			if isCompleted {
				o.out = completed.Output
			}
			if wait == nil || isCompleted {
				out, err := normalize(o.out)
				if err != nil {
					return nil, errorf(ErrRuntime, "the result of %s is not JSON: %v", req.Resource, err)
				}
				return out, nil
			}
			// The invocation's own response is ignored: the token's answer is the result.
		case res := <-tokenResults:
			return res.output, res.err
		case <-beats:
			limits.heartbeat()
		case <-limits.fired:
			if limits.isHeartbeat {
				return nil, errorf(ErrHeartbeatTimeout, "state %q sent no heartbeat for %s", req.StateName, heartbeat)
			}
			return nil, errorf(ErrTimeout, "state %q ran longer than its timeout (%s)", req.StateName, timeout)
		case <-ctx.Done():
			return nil, errAborted
		}
	}
}

// taskError maps a handler error: *Error keeps its name, anything else is
// States.TaskFailed.
func taskError(err error) *Error {
	var aerr *Error
	if errors.As(err, &aerr) {
		return aerr
	}
	return &Error{Name: ErrTaskFailed, Cause: err.Error()}
}

// taskTimer enforces TimeoutSeconds and HeartbeatSeconds with one clock
// timer armed for whichever deadline comes first, so the outcome does not
// depend on goroutine scheduling (which matters with a virtual clock).
type taskTimer struct {
	ctx               context.Context
	clock             Clock
	deadline, beatDue time.Time
	beatEvery         time.Duration
	fired             <-chan struct{}
	isHeartbeat       bool
	stop              func()
}

func newTaskTimer(ctx context.Context, clock Clock, timeout, heartbeat time.Duration) *taskTimer {
	now := clock.Now()
	t := &taskTimer{ctx: ctx, clock: clock, deadline: now.Add(timeout), beatEvery: heartbeat, stop: func() {}}
	if heartbeat > 0 {
		t.beatDue = now.Add(heartbeat)
	}
	t.arm()
	return t
}

// heartbeat restarts the HeartbeatSeconds countdown.
func (t *taskTimer) heartbeat() {
	if t.beatEvery > 0 {
		t.beatDue = t.clock.Now().Add(t.beatEvery)
		t.arm()
	}
}

func (t *taskTimer) arm() {
	t.stop()
	due, isBeat := t.deadline, false
	if t.beatEvery > 0 && t.beatDue.Before(due) {
		due, isBeat = t.beatDue, true
	}
	t.isHeartbeat = isBeat
	t.fired, t.stop = expiry(t.ctx, t.clock, due.Sub(t.clock.Now()))
}
