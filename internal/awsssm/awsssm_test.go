package awsssm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// fakeSSM speaks the SSM JSON 1.1 protocol (POST / with X-Amz-Target
// AmazonSSM.<Operation>). Each instance's invocation does not exist at
// first, then runs for one poll, then ends with the scripted result.
type fakeSSM struct {
	mu        sync.Mutex
	calls     map[string]int
	failures  []int // statuses to answer the next calls with (429-ish throttles, 500s)
	sent      map[string]any
	polls     map[string]int // instance → GetCommandInvocation calls
	listCalls int
	exit      map[string]int
}

func newFake() *fakeSSM {
	return &fakeSSM{calls: map[string]int{}, polls: map[string]int{}, exit: map[string]int{"i-1": 0, "i-2": 2}}
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		http.Error(w, "bad protocol", http.StatusBadRequest)
		return
	}
	var in map[string]any
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if len(f.failures) > 0 {
		status := f.failures[0]
		f.failures = f.failures[1:]
		w.WriteHeader(status)
		if status == http.StatusBadRequest {
			io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
		} else {
			io.WriteString(w, `{"__type":"InternalServerError","message":"try again"}`)
		}
		return
	}
	switch op {
	case "SendCommand":
		f.sent = in
		writeJSON(w, map[string]any{"Command": map[string]any{"CommandId": "cmd-1", "Status": "Pending"}})
	case "ListCommandInvocations":
		f.listCalls++
		var invs []any
		if f.listCalls > 1 { // tag targets resolve after a poll
			status := "InProgress"
			if f.listCalls > 2 {
				status = "Success"
			}
			if in["NextToken"] == nil {
				writeJSON(w, map[string]any{"CommandInvocations": []any{map[string]any{"InstanceId": "i-2", "Status": status}}, "NextToken": "page2"})
				return
			}
			invs = append(invs, map[string]any{"InstanceId": "i-1", "Status": status})
		}
		writeJSON(w, map[string]any{"CommandInvocations": invs})
	case "GetCommandInvocation":
		id := in["InstanceId"].(string)
		f.polls[id]++
		if f.polls[id] == 1 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"InvocationDoesNotExist","message":"not yet"}`)
			return
		}
		status := "Success"
		if f.exit[id] != 0 {
			status = "Failed"
		}
		writeJSON(w, map[string]any{
			"CommandId": in["CommandId"], "InstanceId": id, "Status": status, "ResponseCode": f.exit[id],
			"StandardOutputContent": "out " + id, "StandardErrorContent": "", "StandardOutputUrl": "https://s3/" + id,
		})
	default:
		http.Error(w, "unexpected "+op, http.StatusBadRequest)
	}
}

func writeJSON(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }

// client builds a real SSM client against the fake, with the standard
// retryer at test speed.
func client(url string) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = noLimit{}
		}),
	})
}

type noLimit struct{}

func (noLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noLimit) AddTokens(uint) error { return nil }

func noSleep(context.Context, time.Duration) error { return nil }

func TestRunSendsFollowsAndReportsEveryInstance(t *testing.T) {
	fake := newFake()
	fake.failures = []int{http.StatusBadRequest, http.StatusInternalServerError} // throttled, then a 500
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r := &Runner{API: client(srv.URL), Sleep: noSleep}
	id, results, err := r.Run(context.Background(), Request{
		Targets: []Target{{Key: "tag:Role", Values: []string{"web"}}}, Script: "uptime", WorkingDir: "/srv",
		Timeout: 90 * time.Second, MaxConcurrency: "50%", MaxErrors: "1", OutputS3Bucket: "out", CloudWatchLogGroup: "/medic",
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "cmd-1" || fake.calls["SendCommand"] != 3 {
		t.Fatalf("id %s after %d SendCommand calls (want 3: throttled, 500, ok)", id, fake.calls["SendCommand"])
	}
	got := fmt.Sprintf("%v %v %v %v %v %v", fake.sent["Targets"], fake.sent["Parameters"], fake.sent["MaxConcurrency"], fake.sent["MaxErrors"], fake.sent["OutputS3BucketName"], fake.sent["CloudWatchOutputConfig"])
	want := "[map[Key:tag:Role Values:[web]]] map[commands:[uptime] executionTimeout:[90] workingDirectory:[/srv]] 50% 1 out map[CloudWatchLogGroupName:/medic CloudWatchOutputEnabled:true]"
	if got != want {
		t.Fatalf("sent\n%s\nwant\n%s", got, want)
	}
	if len(results) != 2 {
		t.Fatalf("results %+v", results)
	}
	if r1, r2 := results[0], results[1]; r1.InstanceID != "i-1" || r1.Status != "Success" || r1.Stdout != "out i-1" || r1.StdoutURL != "https://s3/i-1" ||
		r2.InstanceID != "i-2" || r2.Status != "Failed" || r2.ExitCode != 2 {
		t.Fatalf("results %+v", results)
	}
}

func TestNoInstancesIsAnError(t *testing.T) {
	fake := newFake()
	fake.listCalls = -100 // never resolves
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r := &Runner{API: client(srv.URL), Sleep: noSleep, NotYet: 3}
	_, _, err := r.Run(context.Background(), Request{InstanceIDs: []string{"i-9"}, Script: "true"})
	if err == nil || !strings.Contains(err.Error(), "reached no instance") {
		t.Fatalf("got %v", err)
	}
}

func TestGetGivesUpOnAMissingInvocation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"InvocationDoesNotExist"}`)
	}))
	defer srv.Close()
	r := &Runner{API: client(srv.URL), Sleep: noSleep, NotYet: 2}
	_, err := r.Get(context.Background(), "c", "i-1")
	if err == nil || !strings.Contains(err.Error(), "InvocationDoesNotExist") || !strings.Contains(err.Error(), "i-1") {
		t.Fatalf("got %v", err)
	}
}

func TestBadRequestsFailBeforeCallingSSM(t *testing.T) {
	r := &Runner{API: client("http://127.0.0.1:1")}
	for _, req := range []Request{{Script: "true"}, {InstanceIDs: []string{"i"}}} {
		if _, err := r.Send(context.Background(), req); err == nil {
			t.Errorf("%+v: want an error", req)
		}
	}
}

func TestPersistentThrottlingSurfaces(t *testing.T) {
	fake := newFake()
	fake.failures = []int{400, 400, 400, 400, 400, 400}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r := &Runner{API: client(srv.URL), Sleep: noSleep}
	_, err := r.Send(context.Background(), Request{InstanceIDs: []string{"i-1"}, Script: "true"})
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || fake.calls["SendCommand"] != 5 {
		t.Fatalf("got %v after %d calls", err, fake.calls["SendCommand"])
	}
}
