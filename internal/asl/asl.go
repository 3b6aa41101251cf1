// Package asl is Medic's Amazon States Language interpreter: it runs the
// very statemachines/*.asl.json that are deployed to Step Functions, with
// service integrations supplied by a TaskHandler. It has no AWS dependency.
//
// Parse validates a definition completely (every path, intrinsic, Next and
// field) so mistakes surface before an execution starts; Machine.Run then
// executes it. See docs/asl.md.
package asl

import (
	"context"
	"fmt"
	"time"
)

// Predefined error names (ASL spec appendix A and the Step Functions guide,
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
const (
	ErrAll                    = "States.ALL"
	ErrTaskFailed             = "States.TaskFailed"
	ErrTimeout                = "States.Timeout"
	ErrHeartbeatTimeout       = "States.HeartbeatTimeout"
	ErrRuntime                = "States.Runtime"
	ErrPermissions            = "States.Permissions"
	ErrBranchFailed           = "States.BranchFailed"
	ErrNoChoiceMatched        = "States.NoChoiceMatched"
	ErrIntrinsicFailure       = "States.IntrinsicFailure"
	ErrResultPathMatchFailure = "States.ResultPathMatchFailure"
	ErrParameterPathFailure   = "States.ParameterPathFailure"
	ErrExceedToleratedFailure = "States.ExceedToleratedFailureThreshold"
	ErrDataLimitExceeded      = "States.DataLimitExceeded"
)

// Error is a named ASL error: what a failed execution returns, what a task
// handler returns to raise a specific error, and what Catch/Retry match on.
type Error struct{ Name, Cause string }

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

func errorf(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// TaskRequest is one invocation of a Task state's resource.
type TaskRequest struct {
	Resource  string         // the Task's Resource, e.g. "arn:aws:states:::aws-sdk:ssm:sendCommand"
	StateName string         //
	Input     any            // effective task input after InputPath + Parameters
	TaskToken string         // set when Resource ends in .waitForTaskToken
	Context   map[string]any // the $$ context object
}

// TaskHandler performs Task states. Return *Error to raise a named error;
// any other error becomes States.TaskFailed with the error text as Cause.
type TaskHandler interface {
	Invoke(ctx context.Context, req TaskRequest) (any, error)
}

// TaskCompleted is a handler's answer to a .waitForTaskToken task that is
// the task's result itself, with no callback to wait for. Mocks answer this
// way, as AWS Step Functions Local does: a mocked callback task completes at
// once with its mocked response. Any other answer to such a task is only the
// invocation's response, and the task waits for SendTaskSuccess.
type TaskCompleted struct{ Output any }

// TaskHandlerFunc adapts a function to TaskHandler.
type TaskHandlerFunc func(ctx context.Context, req TaskRequest) (any, error)

// Invoke implements TaskHandler.
func (f TaskHandlerFunc) Invoke(ctx context.Context, req TaskRequest) (any, error) {
	return f(ctx, req)
}

// Options configures one execution.
type Options struct {
	Tasks         TaskHandler
	Clock         Clock          // nil = real time
	Observer      func(Event)    // called for every event, in order, never concurrently (may be nil)
	Tokens        *TokenHub      // for .waitForTaskToken; nil = a private hub
	ExecutionName string         // goes into $$.Execution.Name / Id; "" = a fresh UUID-like name
	Context       map[string]any // extra/overriding context object fields (e.g. from --context)
	MachineName   string         // $$.StateMachine.Name; "" = "local"
}

// Event types reported to Options.Observer, in the order they happen.
const (
	ExecutionStarted   = "ExecutionStarted"   // Input = execution input
	StateEntered       = "StateEntered"       // Input = raw state input
	StateExited        = "StateExited"        // Output = state output (not sent when the state fails); Assigned = variables set
	TaskScheduled      = "TaskScheduled"      // Input = effective task input
	TaskSucceeded      = "TaskSucceeded"      // Output = raw task result
	TaskFailed         = "TaskFailed"         // Error = the failure (timeouts included)
	StateRetried       = "StateRetried"       // Error = what is retried; Time = when the wait begins
	StateCaught        = "StateCaught"        // Error = what a Catcher handled; Output = the catcher's output
	ExecutionSucceeded = "ExecutionSucceeded" // Output = execution output
	ExecutionFailed    = "ExecutionFailed"    // Error = the failure
)

// Event is one step of an execution, for tracing and timelines. State is
// the state name; inside Parallel branches and Map iterations it is still
// the inner state's own name.
type Event struct {
	Type          string
	State         string
	Input, Output any
	Assigned      map[string]any // StateExited: the variables the state (or its catcher) assigned
	Error         *Error
	Time          time.Time
}
