package awssfn

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/medic-sre/medic/internal/awsfake"
)

// fakeExecutions answers DescribeExecution (RUNNING twice, then the
// scripted end) and SendTaskSuccess/Failure ("expired" tokens time out).
type fakeExecutions struct {
	mu        sync.Mutex
	describes int
	final     map[string]any
	answered  []map[string]any
}

func (f *fakeExecutions) serve(t *testing.T) *awsfake.Server {
	answer := func(op string) awsfake.Handler {
		return func(in map[string]any) (any, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if in["taskToken"] == "expired" {
				return nil, &awsfake.Error{Status: http.StatusBadRequest, Type: "com.amazonaws.swf.service.v2.model#TaskTimedOut", Message: "Task Timed Out"}
			}
			in["op"] = op
			f.answered = append(f.answered, in)
			return nil, nil
		}
	}
	return awsfake.New(t, awsfake.StepFunctions).
		Handle("DescribeExecution", f.describe).
		Handle("SendTaskSuccess", answer("SendTaskSuccess")).
		Handle("SendTaskFailure", answer("SendTaskFailure"))
}

func (f *fakeExecutions) describe(in map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	out := map[string]any{"executionArn": in["executionArn"], "stateMachineArn": "arn:sm", "status": "RUNNING", "startDate": 1.7e9}
	if f.describes > 2 {
		for k, v := range f.final {
			out[k] = v
		}
	}
	return out, nil
}

func client(srv *awsfake.Server) *sfn.Client { return sfn.NewFromConfig(srv.Config()) }

func noSleep(context.Context, time.Duration) error { return nil }

func TestWaitPollsUntilTheExecutionEnds(t *testing.T) {
	fake := &fakeExecutions{final: map[string]any{"status": "SUCCEEDED", "output": `{"healed":true}`, "stopDate": 1.7e9 + 30}}
	srv := fake.serve(t)
	srv.Fail(awsfake.Throttling(), awsfake.InternalError())
	var seen []string
	w := &Watcher{API: client(srv), Sleep: noSleep, OnPoll: func(o Outcome) { seen = append(seen, o.Status) }}
	o, err := w.Wait(context.Background(), "arn:aws:states:us-east-1:1:execution:m:e")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != "SUCCEEDED" || o.Output.(map[string]any)["healed"] != true || o.Stop.Sub(o.Start) != 30*time.Second {
		t.Fatalf("%+v", o)
	}
	if len(seen) != 2 {
		t.Fatalf("intermediate polls %v", seen)
	}
}

func TestWaitReportsFailure(t *testing.T) {
	fake := &fakeExecutions{final: map[string]any{"status": "FAILED", "error": "Medic.CommandFailed", "cause": "exit 3"}}
	o, err := (&Watcher{API: client(fake.serve(t)), Sleep: noSleep}).Wait(context.Background(), "arn:x")
	if err != nil || o.Status != "FAILED" || o.Error != "Medic.CommandFailed" || o.Cause != "exit 3" {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestTasksAnswerWaitingTasks(t *testing.T) {
	fake := &fakeExecutions{}
	srv := fake.serve(t)
	srv.Fail(awsfake.Throttling())
	tasks := &Tasks{API: client(srv)}
	if err := tasks.Success(context.Background(), "tok-1", map[string]any{"approved": true, "by": "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := tasks.Failure(context.Background(), "tok-2", "Medic.Rejected", "bob said no"); err != nil {
		t.Fatal(err)
	}
	if len(fake.answered) != 2 || fake.answered[0]["output"] != `{"approved":true,"by":"alice"}` ||
		fake.answered[1]["op"] != "SendTaskFailure" || fake.answered[1]["error"] != "Medic.Rejected" || fake.answered[1]["cause"] != "bob said no" {
		t.Fatalf("%v", fake.answered)
	}
	err := tasks.Success(context.Background(), "expired", nil)
	var timedOut *types.TaskTimedOut
	if !errors.As(err, &timedOut) {
		t.Fatalf("want TaskTimedOut, got %v", err)
	}
}

func TestStartNamedReturnsTheExecutionARN(t *testing.T) {
	s, _, _ := newStarter(t)
	arn, err := s.StartNamed(context.Background(), "heal", "run-1", map[string]any{})
	if err != nil || arn != "arn:aws:states:us-east-1:123456789012:stateMachine:heal:run-1" {
		t.Fatalf("%q %v", arn, err)
	}
}
