package awssfn

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/awsfake"
	"github.com/medic-sre/medic/internal/execution"
)

// fakeStarts answers StartExecution and refuses a second execution of the
// same name, as the service does.
type fakeStarts struct {
	mu      sync.Mutex
	started map[string]any // name → input
}

func (f *fakeStarts) start(in map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := in["name"].(string)
	if _, dup := f.started[name]; dup {
		return nil, &awsfake.Error{Status: http.StatusBadRequest, Type: "com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists", Message: "Execution Already Exists: '" + name + "'"}
	}
	f.started[name] = in["input"]
	return map[string]any{"executionArn": in["stateMachineArn"].(string) + ":" + name, "startDate": 1.7e9}, nil
}

func newStarter(t *testing.T) (*Starter, *fakeStarts, *awsfake.Server) {
	fake := &fakeStarts{started: map[string]any{}}
	srv := awsfake.New(t, awsfake.StepFunctions).Handle("StartExecution", fake.start)
	s := &Starter{API: sfn.NewFromConfig(srv.Config()), Machines: map[string]string{"heal": "arn:aws:states:us-east-1:123456789012:stateMachine:heal"}}
	return s, fake, srv
}

func TestStartOverTheWire(t *testing.T) {
	s, fake, srv := newStarter(t)
	srv.Fail(awsfake.Throttling())
	rec := &execution.Record{ID: "linux-free-disk-abc", StateMachine: "heal"}
	if err := s.Start(context.Background(), rec, map[string]any{"target": "i-0abc"}); err != nil {
		t.Fatal(err) // the SDK retries the throttled first call
	}
	if got := fake.started["linux-free-disk-abc"]; got != `{"target":"i-0abc"}` || srv.Calls("StartExecution") != 2 {
		t.Fatalf("input sent: %q after %d calls", got, srv.Calls("StartExecution"))
	}
	err := s.Start(context.Background(), rec, map[string]any{"target": "i-0abc", "again": true})
	if !errors.Is(err, execution.ErrExists) {
		t.Fatalf("second start: want ErrExists, got %v", err)
	}
}

func TestStartUnknownMachine(t *testing.T) {
	s, _, _ := newStarter(t)
	err := s.Start(context.Background(), &execution.Record{ID: "x", StateMachine: "nope"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("want error naming the machine, got %v", err)
	}
}
