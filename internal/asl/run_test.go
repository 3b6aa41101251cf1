package asl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPassDataFlow(t *testing.T) {
	// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.in",
	  "Parameters":{"x.$":"$.a","lit":[1,{"k.$":"$.b"}],"exec.$":"$$.Execution.Name","st.$":"$$.State.Name"},
	  "ResultPath":"$.out","OutputPath":"$.out","End":true}}}`
	out, err := runJSON(t, def, `{"in":{"a":1,"b":"two"}}`, nil)
	wantOutput(t, out, err, `{"x":1,"lit":[1,{"k":"two"}],"exec":"exec-1","st":"P"}`)
}

func TestNullPaths(t *testing.T) {
	// InputPath null = {}, ResultPath null = keep input, OutputPath null = {}.
	def := `{"StartAt":"A","States":{
	  "A":{"Type":"Pass","InputPath":null,"ResultPath":"$.seen","Next":"B"},
	  "B":{"Type":"Pass","Result":"dropped","ResultPath":null,"Next":"C"},
	  "C":{"Type":"Pass","OutputPath":null,"ResultPath":"$.x","Result":1,"Next":"D"},
	  "D":{"Type":"Pass","Result":{"r":true},"ResultPath":"$.deep.er","End":true}}}`
	out, err := runJSON(t, def, `{"v":1}`, nil)
	wantOutput(t, out, err, `{"deep":{"er":{"r":true}}}`)
	out, err = runJSON(t, strings.Replace(def, `"OutputPath":null,`, ``, 1), `{"v":1}`, nil)
	wantOutput(t, out, err, `{"v":1,"seen":{},"x":1,"deep":{"er":{"r":true}}}`)
}

func TestResultSelectorAndTask(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","Parameters":{"n.$":"$.n"},
	  "ResultSelector":{"doubled.$":"States.MathAdd($.n, $.n)"},"ResultPath":"$.r","End":true}}}`
	out, err := runJSON(t, def, `{"n":21}`, echo)
	wantOutput(t, out, err, `{"n":21,"r":{"doubled":42}}`)
}

func TestResultPathMatchFailure(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"ResultPath":"$.s.x","End":true}}}`
	_, err := runJSON(t, def, `{"s":"a string"}`, nil)
	wantError(t, err, ErrResultPathMatchFailure)
}

func TestMissingPathIsRuntimeError(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$.nope"},"End":true}}}`
	_, err := runJSON(t, def, `{}`, nil)
	e := wantError(t, err, ErrRuntime)
	if !strings.Contains(e.Cause, "$.nope") {
		t.Errorf("cause should name the path: %q", e.Cause)
	}
}

func TestFailState(t *testing.T) {
	def := `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('bad {}', $.n)"}}}`
	_, err := runJSON(t, def, `{"e":"My.Error","n":3}`, nil)
	if e := wantError(t, err, "My.Error"); e.Cause != "bad 3" {
		t.Errorf("cause = %q", e.Cause)
	}
	def = `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","Cause":"C"}}}`
	_, err = runJSON(t, def, `{}`, nil)
	if e := wantError(t, err, "E"); e.Cause != "C" {
		t.Errorf("cause = %q", e.Cause)
	}
}

func TestWaitUsesClock(t *testing.T) {
	def := `{"StartAt":"A","States":{
	  "A":{"Type":"Wait","Seconds":10,"Next":"B"},
	  "B":{"Type":"Wait","SecondsPath":"$.s","Next":"C"},
	  "C":{"Type":"Wait","Timestamp":"2026-01-02T04:00:00Z","Next":"D"},
	  "D":{"Type":"Wait","TimestampPath":"$.ts","Next":"E"},
	  "E":{"Type":"Pass","Parameters":{"now.$":"$$.State.EnteredTime"},"End":true}}}`
	clock := NewVirtualClock(epoch)
	start := time.Now()
	out, err := mustParse(t, def).Run(context.Background(), j(t, `{"s":5,"ts":"2026-01-02T05:00:00Z"}`), Options{Clock: clock})
	wantOutput(t, out, err, `{"now":"2026-01-02T05:00:00.000Z"}`)
	if time.Since(start) > time.Second {
		t.Errorf("virtual waits took real time")
	}
	_, err = mustParse(t, def).Run(context.Background(), j(t, `{"s":-1,"ts":"x"}`), Options{Clock: clock})
	wantError(t, err, ErrRuntime)
}

func TestRetryBackoffAndRetryCount(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x",
	  "Parameters":{"rc.$":"$$.State.RetryCount"},
	  "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":3,"MaxDelaySeconds":10}],"End":true}}}`
	calls := 0
	h := TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) {
		calls++
		if calls < 4 {
			return nil, &Error{Name: "Flaky", Cause: "try again"}
		}
		return req.Input, nil
	})
	clock := NewVirtualClock(epoch)
	out, err := mustParse(t, def).Run(context.Background(), map[string]any{}, Options{Tasks: h, Clock: clock})
	wantOutput(t, out, err, `{"rc":3}`)
	// 2 + 6 + min(18, 10) seconds of backoff.
	if got := clock.Now().Sub(epoch); got != 18*time.Second {
		t.Errorf("backoff took %s of virtual time, want 18s", got)
	}
}

func TestRetryExhaustedThenCatch(t *testing.T) {
	def := `{"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:x","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2}],
	    "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"H"}],"End":true},
	  "H":{"Type":"Pass","End":true}}}`
	calls := 0
	h := TaskHandlerFunc(func(context.Context, TaskRequest) (any, error) { calls++; return nil, errors.New("boom") })
	rec := &recorder{}
	out, err := mustParse(t, def).Run(context.Background(), j(t, `{"a":1}`), Options{Tasks: h, Clock: NewVirtualClock(epoch), Observer: rec.observe})
	wantOutput(t, out, err, `{"a":1,"err":{"Error":"States.TaskFailed","Cause":"boom"}}`)
	if calls != 3 {
		t.Errorf("calls = %d, want 3 (1 + MaxAttempts 2)", calls)
	}
	want := []string{StateEntered, TaskScheduled, TaskFailed, StateRetried, TaskScheduled, TaskFailed, StateRetried, TaskScheduled, TaskFailed, StateCaught, StateExited}
	if got := rec.types("T"); !reflect.DeepEqual(got, want) {
		t.Errorf("events of T:\n got %v\nwant %v", got, want)
	}
}

func TestMaxAttemptsZeroNeverRetries(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":0}],"End":true}}}`
	calls := 0
	h := TaskHandlerFunc(func(context.Context, TaskRequest) (any, error) { calls++; return nil, &Error{Name: "X"} })
	_, err := runJSON(t, def, `{}`, h)
	wantError(t, err, "X")
	if calls != 1 {
		t.Errorf("calls = %d", calls)
	}
}

func TestErrorWildcards(t *testing.T) {
	// concepts-error-handling: States.ALL does not catch States.Runtime;
	// States.TaskFailed matches everything but States.Timeout.
	cases := []struct {
		list []string
		name string
		want bool
	}{
		{[]string{ErrAll}, "Custom", true},
		{[]string{ErrAll}, ErrRuntime, false},
		{[]string{ErrRuntime}, ErrRuntime, false},
		{[]string{ErrTaskFailed}, "Lambda.Unknown", true},
		{[]string{ErrTaskFailed}, ErrTimeout, false},
		{[]string{"A", "B"}, "B", true},
		{[]string{"A"}, "a", false},
	}
	for _, c := range cases {
		if got := errorMatches(c.list, c.name); got != c.want {
			t.Errorf("errorMatches(%v, %s) = %v", c.list, c.name, got)
		}
	}
}

func TestTaskTimeoutAndHeartbeat(t *testing.T) {
	hang := TaskHandlerFunc(func(ctx context.Context, _ TaskRequest) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","TimeoutSeconds":300,"End":true}}}`
	_, err := runJSON(t, def, `{}`, hang)
	wantError(t, err, ErrTimeout)

	def = `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","TimeoutSeconds":300,"HeartbeatSeconds":60,"End":true}}}`
	_, err = runJSON(t, def, `{}`, hang)
	wantError(t, err, ErrHeartbeatTimeout)

	def = `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","TimeoutSecondsPath":"$.t","End":true}}}`
	_, err = runJSON(t, def, `{"t":5}`, hang)
	wantError(t, err, ErrTimeout)

	// A prompt task beats its timeout even on a virtual clock.
	out, err := runJSON(t, def, `{"t":5}`, echo)
	wantOutput(t, out, err, `{"t":5}`)
}

func TestWaitForTaskToken(t *testing.T) {
	def := `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	  "Parameters":{"Payload":{"token.$":"$$.Task.Token"}},"ResultPath":"$.answer","End":true}}}`
	hub := NewTokenHub()
	h := TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) {
		payload := req.Input.(map[string]any)["Payload"].(map[string]any)
		if payload["token"] != req.TaskToken || req.TaskToken == "" {
			return nil, fmt.Errorf("token mismatch: %v vs %q", payload["token"], req.TaskToken)
		}
		go func() {
			time.Sleep(5 * time.Millisecond) // answer after the task returned
			if err := hub.Heartbeat(req.TaskToken); err != nil {
				t.Error(err)
			}
			if err := hub.Success(req.TaskToken, map[string]any{"approved": true}); err != nil {
				t.Error(err)
			}
		}()
		return "ignored", nil
	})
	m := mustParse(t, def)
	out, err := m.Run(context.Background(), j(t, `{"q":1}`), Options{Tasks: h, Tokens: hub})
	wantOutput(t, out, err, `{"q":1,"answer":{"approved":true}}`)
	if len(hub.Waiting()) != 0 {
		t.Errorf("tokens left waiting: %v", hub.Waiting())
	}
	if err := hub.Success("unknown", nil); err == nil {
		t.Error("Success on an unknown token should fail")
	}

	fail := TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) {
		return nil, hub.Failure(req.TaskToken, "Approval.Rejected", "no")
	})
	_, err = m.Run(context.Background(), j(t, `{}`), Options{Tasks: fail, Tokens: hub})
	wantError(t, err, "Approval.Rejected")
}

func TestWaitForTaskTokenHeartbeatTimeout(t *testing.T) {
	def := `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	  "HeartbeatSeconds":60,"End":true}}}`
	_, err := runJSON(t, def, `{}`, echo)
	wantError(t, err, ErrHeartbeatTimeout)
}

func TestNoChoiceMatched(t *testing.T) {
	def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"E"}]},"E":{"Type":"Succeed"}}}`
	_, err := runJSON(t, def, `{"x":2}`, nil)
	wantError(t, err, ErrNoChoiceMatched)
	out, err := runJSON(t, def, `{"x":1}`, nil)
	wantOutput(t, out, err, `{"x":1}`)
}

func TestParallel(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","ResultPath":"$.r","End":true,"Branches":[
	  {"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.v"},"End":true}}},
	  {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:x","End":true}}}]}}}`
	out, err := runJSON(t, def, `{"v":7}`, echo)
	wantOutput(t, out, err, `{"v":7,"r":[{"a":7},{"v":7}]}`)

	failing := strings.Replace(def, `"Type":"Pass","Parameters":{"a.$":"$.v"},"End":true`, `"Type":"Fail","Error":"Branch.Bad"`, 1)
	_, err = runJSON(t, failing, `{"v":7}`, echo)
	wantError(t, err, "Branch.Bad")
}

func TestMap(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,
	  "ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","End":true}}},
	  "ResultPath":"$.out","End":true}}}`
	out, err := runJSON(t, def, `{"items":["a","b","c"],"k":0}`, echo)
	wantOutput(t, out, err, `{"items":["a","b","c"],"k":0,"out":[{"i":0,"v":"a","k":0},{"i":1,"v":"b","k":0},{"i":2,"v":"c","k":0}]}`)

	legacy := `{"StartAt":"M","States":{"M":{"Type":"Map","Parameters":{"x.$":"$$.Map.Item.Value"},
	  "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
	out, err = runJSON(t, legacy, `[1,2]`, nil)
	wantOutput(t, out, err, `[{"x":1},{"x":2}]`)

	_, err = runJSON(t, legacy, `{"not":"array"}`, nil)
	wantError(t, err, ErrRuntime)
}

func TestMapToleratedFailures(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,
	  "ItemProcessor":{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericGreaterThan":1,"Next":"F"}],"Default":"OK"},
	    "F":{"Type":"Fail","Error":"Big"},"OK":{"Type":"Pass","End":true}}},"End":true}}}`
	out, err := runJSON(t, def, `[1,2]`, nil)
	wantOutput(t, out, err, `[1,{"Error":"Big","Cause":""}]`)
	_, err = runJSON(t, def, `[1,2,3]`, nil)
	wantError(t, err, ErrExceedToleratedFailure)
}

func TestContextOverridesAndExecution(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","in.$":"$$.Execution.Input","env.$":"$$.Execution.Name","sm.$":"$$.StateMachine.Name","extra.$":"$$.Extra"},"End":true}}}`
	m := mustParse(t, def)
	out, err := m.Run(context.Background(), j(t, `{"a":1}`), Options{ExecutionName: "e1", MachineName: "heal", Context: map[string]any{"Extra": "x", "Execution": map[string]any{"Name": "override"}}})
	wantOutput(t, out, err, `{"id":"arn:aws:states:local:000000000000:execution:heal:e1","in":{"a":1},"env":"override","sm":"heal","extra":"x"}`)
}

func TestCancelledContext(t *testing.T) {
	def := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err := mustParse(t, def).Run(ctx, map[string]any{}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestEndlessLoopIsBounded(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`
	_, err := runJSON(t, def, `{}`, nil)
	wantError(t, err, ErrRuntime)
}

func TestObserverEventOrder(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}`
	rec := &recorder{}
	_, err := mustParse(t, def).Run(context.Background(), map[string]any{}, Options{Observer: rec.observe})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ExecutionStarted, StateEntered, StateExited, StateEntered, StateExited, ExecutionSucceeded}
	if got := rec.types(""); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// TestRepositoryStateMachinesParse keeps every deployed workflow runnable
// locally.
func TestRepositoryStateMachinesParse(t *testing.T) {
	paths, _ := filepath.Glob("../../statemachines/*.asl.json")
	for _, p := range paths {
		def, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(def); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestExecutionTimeoutOnVirtualClock(t *testing.T) {
	def := `{"StartAt":"W","TimeoutSeconds":60,"States":{"W":{"Type":"Wait","Seconds":45,"Next":"X"},"X":{"Type":"Wait","Seconds":45,"Next":"Y"},"Y":{"Type":"Succeed"}}}`
	_, err := runJSON(t, def, `{}`, nil)
	wantError(t, err, ErrTimeout)
}

func TestExecutionTimeoutOnRealClock(t *testing.T) {
	def := `{"StartAt":"T","TimeoutSeconds":1,"States":{"T":{"Type":"Task","Resource":"arn:x","End":true}}}`
	hang := TaskHandlerFunc(func(ctx context.Context, _ TaskRequest) (any, error) { <-ctx.Done(); return nil, ctx.Err() })
	start := time.Now()
	_, err := mustParse(t, def).Run(context.Background(), map[string]any{}, Options{Tasks: hang})
	wantError(t, err, ErrTimeout)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestMapConcurrencyLimitAndPercentage(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrencyPath":"$.limit","ItemsPath":"$.items",
	  "ToleratedFailurePercentage":50,
	  "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","End":true}}},"End":true}}}`
	var mu sync.Mutex
	running, peak := 0, 0
	h := TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if req.Input.(float64) < 0 {
			return nil, &Error{Name: "Negative"}
		}
		return req.Input, nil
	})
	out, err := runJSON(t, def, `{"limit":2,"items":[1,-2,3,4]}`, h)
	wantOutput(t, out, err, `[1,{"Error":"Negative","Cause":""},3,4]`)
	if peak > 2 {
		t.Errorf("MaxConcurrencyPath 2 allowed %d at once", peak)
	}
	_, err = runJSON(t, def, `{"limit":2,"items":[-1,-2,-3,4]}`, h)
	wantError(t, err, ErrExceedToleratedFailure)
}

func TestParallelRetryAndCatch(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done",
	  "Retry":[{"ErrorEquals":["Flaky"],"MaxAttempts":1}],
	  "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.caught","Next":"Done"}],
	  "Branches":[{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","End":true}}}]},
	  "Done":{"Type":"Succeed"}}}`
	calls := 0
	h := TaskHandlerFunc(func(context.Context, TaskRequest) (any, error) {
		calls++
		return nil, &Error{Name: "Flaky", Cause: fmt.Sprint("call ", calls)}
	})
	out, err := runJSON(t, def, `{"a":1}`, h)
	wantOutput(t, out, err, `{"a":1,"caught":{"Error":"Flaky","Cause":"call 2"}}`)
}
