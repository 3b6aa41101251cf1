package awssfn

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// fakeExecutions speaks JSON 1.0 for DescribeExecution (RUNNING twice,
// then the scripted end) and SendTaskSuccess/Failure; failures lists
// statuses to answer first (400 = throttled, 500 = internal error).
type fakeExecutions struct {
	mu        sync.Mutex
	describes int
	failures  []int
	final     map[string]any
	answered  []map[string]any
}

func (f *fakeExecutions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		http.Error(w, "bad protocol", http.StatusBadRequest)
		return
	}
	var in map[string]any
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if len(f.failures) > 0 {
		status := f.failures[0]
		f.failures = f.failures[1:]
		w.WriteHeader(status)
		if status == http.StatusBadRequest {
			io.WriteString(w, `{"__type":"com.amazonaws.swf.base.model#ThrottlingException","message":"Rate exceeded"}`)
		} else {
			io.WriteString(w, `{"__type":"InternalFailure"}`)
		}
		return
	}
	switch op {
	case "DescribeExecution":
		f.describes++
		out := map[string]any{"executionArn": in["executionArn"], "stateMachineArn": "arn:sm", "status": "RUNNING", "startDate": 1.7e9}
		if f.describes > 2 {
			for k, v := range f.final {
				out[k] = v
			}
		}
		json.NewEncoder(w).Encode(out)
	case "SendTaskSuccess", "SendTaskFailure":
		if in["taskToken"] == "expired" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"Task Timed Out"}`)
			return
		}
		in["op"] = op
		f.answered = append(f.answered, in)
		io.WriteString(w, `{}`)
	default:
		http.Error(w, "unexpected "+op, http.StatusBadRequest)
	}
}

func fastClient(url string) *sfn.Client {
	return sfn.New(sfn.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: aws.AnonymousCredentials{},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		}),
	})
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestWaitPollsUntilTheExecutionEnds(t *testing.T) {
	fake := &fakeExecutions{failures: []int{400, 500}, final: map[string]any{"status": "SUCCEEDED", "output": `{"healed":true}`, "stopDate": 1.7e9 + 30}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var seen []string
	w := &Watcher{API: fastClient(srv.URL), Sleep: noSleep, OnPoll: func(o Outcome) { seen = append(seen, o.Status) }}
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
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o, err := (&Watcher{API: fastClient(srv.URL), Sleep: noSleep}).Wait(context.Background(), "arn:x")
	if err != nil || o.Status != "FAILED" || o.Error != "Medic.CommandFailed" || o.Cause != "exit 3" {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestTasksAnswerWaitingTasks(t *testing.T) {
	fake := &fakeExecutions{failures: []int{400}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tasks := &Tasks{API: fastClient(srv.URL)}
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
	s := newStarter(t, &fakeSFN{started: map[string]string{}})
	arn, err := s.StartNamed(context.Background(), "heal", "run-1", map[string]any{})
	if err != nil || arn != "arn:aws:states:us-east-1:123456789012:stateMachine:heal:run-1" {
		t.Fatalf("%q %v", arn, err)
	}
}
