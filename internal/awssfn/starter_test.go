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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/execution"
)

// fakeSFN speaks the Step Functions JSON 1.0 protocol: POST / with
// X-Amz-Target AWSStepFunctions.StartExecution. It refuses a second
// execution of the same name, as the service does.
type fakeSFN struct {
	mu       sync.Mutex
	started  map[string]string // name → input
	throttle int               // refuse this many calls with ThrottlingException first
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AWSStepFunctions.StartExecution" {
		http.Error(w, "unexpected target "+r.Header.Get("X-Amz-Target"), http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var in struct{ StateMachineArn, Name, Input string }
	if err := json.Unmarshal(raw, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if f.throttle > 0 {
		f.throttle--
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"com.amazonaws.swf.base.model#ThrottlingException","message":"Rate exceeded"}`)
		return
	}
	if _, dup := f.started[in.Name]; dup {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists","message":"Execution Already Exists: '`+in.Name+`'"}`)
		return
	}
	f.started[in.Name] = in.Input
	json.NewEncoder(w).Encode(map[string]any{
		"executionArn": in.StateMachineArn + ":" + in.Name, "startDate": 1.7e9,
	})
}

func newStarter(t *testing.T, fake *fakeSFN) *Starter {
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := sfn.New(sfn.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.AnonymousCredentials{},
	})
	return &Starter{API: client, Machines: map[string]string{"heal": "arn:aws:states:us-east-1:123456789012:stateMachine:heal"}}
}

func TestStartOverTheWire(t *testing.T) {
	fake := &fakeSFN{started: map[string]string{}, throttle: 1}
	s := newStarter(t, fake)
	rec := &execution.Record{ID: "linux-free-disk-abc", StateMachine: "heal"}
	if err := s.Start(context.Background(), rec, map[string]any{"target": "i-0abc"}); err != nil {
		t.Fatal(err) // the SDK retries the throttled first call
	}
	if got := fake.started["linux-free-disk-abc"]; got != `{"target":"i-0abc"}` {
		t.Fatalf("input sent: %q", got)
	}
	err := s.Start(context.Background(), rec, map[string]any{"target": "i-0abc", "again": true})
	if !errors.Is(err, execution.ErrExists) {
		t.Fatalf("second start: want ErrExists, got %v", err)
	}
}

func TestStartUnknownMachine(t *testing.T) {
	s := newStarter(t, &fakeSFN{started: map[string]string{}})
	err := s.Start(context.Background(), &execution.Record{ID: "x", StateMachine: "nope"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("want error naming the machine, got %v", err)
	}
}
