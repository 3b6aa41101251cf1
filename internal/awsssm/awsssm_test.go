package awsssm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medic-sre/medic/internal/awsfake"
)

// fakeRunCommand plays SSM Run Command over awsfake for a fleet of
// instances: tag targets resolve after the first listing, every invocation
// is InProgress for one listing and then ends (unless hang), listings come
// in pages of MaxResults, and each instance's invocation does not exist
// yet the first time GetCommandInvocation asks.
type fakeRunCommand struct {
	mu        sync.Mutex
	instances []string
	exit      map[string]int
	hang      bool // invocations never end on their own
	rounds    int  // listings that started from the first page
	polls     map[string]int
	cancelled map[string]bool
}

func newFleet(n int) *fakeRunCommand {
	f := &fakeRunCommand{exit: map[string]int{}, polls: map[string]int{}, cancelled: map[string]bool{}}
	for i := range n {
		f.instances = append(f.instances, fmt.Sprintf("i-%03d", i+1))
	}
	return f
}

// serve starts the fake SSM with f's behaviour.
func (f *fakeRunCommand) serve(t *testing.T) (*awsfake.Server, *Runner) {
	srv := awsfake.New(t, awsfake.SSM).
		Handle("SendCommand", func(map[string]any) (any, error) {
			return map[string]any{"Command": map[string]any{"CommandId": "cmd-1", "Status": "Pending"}}, nil
		}).
		Handle("ListCommandInvocations", f.list).
		Handle("GetCommandInvocation", f.get).
		Handle("CancelCommand", f.cancel)
	return srv, &Runner{API: ssm.NewFromConfig(srv.Config()), Sleep: noSleep}
}

func (f *fakeRunCommand) status(id string) string {
	switch {
	case f.cancelled[id]:
		return "Cancelled"
	case f.hang || f.rounds < 3:
		return "InProgress"
	case f.exit[id] != 0:
		return "Failed"
	}
	return "Success"
}

func (f *fakeRunCommand) list(in map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	start, _ := strconv.Atoi(fmt.Sprint(in["NextToken"]))
	if in["NextToken"] == nil {
		f.rounds++
	}
	size := 50
	if m, ok := in["MaxResults"].(float64); ok {
		size = int(m)
	}
	invs := []any{}
	if f.rounds < 2 { // tag targets resolve after a poll
		return map[string]any{"CommandInvocations": invs}, nil
	}
	end := min(start+size, len(f.instances))
	for _, id := range f.instances[start:end] {
		invs = append(invs, map[string]any{"CommandId": in["CommandId"], "InstanceId": id, "Status": f.status(id)})
	}
	out := map[string]any{"CommandInvocations": invs}
	if end < len(f.instances) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func (f *fakeRunCommand) get(in map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := in["InstanceId"].(string)
	f.polls[id]++
	if f.polls[id] == 1 {
		return nil, &awsfake.Error{Status: http.StatusBadRequest, Type: "InvocationDoesNotExist", Message: "not yet"}
	}
	return map[string]any{
		"CommandId": in["CommandId"], "InstanceId": id, "Status": f.status(id), "ResponseCode": f.exit[id],
		"StandardOutputContent": "out " + id, "StandardErrorContent": "", "StandardOutputUrl": "https://s3/" + id,
	}, nil
}

func (f *fakeRunCommand) cancel(in map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in["CommandId"] != "cmd-1" {
		return nil, &awsfake.Error{Status: http.StatusBadRequest, Type: "InvalidCommandId", Message: "no such command"}
	}
	ids, _ := in["InstanceIds"].([]any)
	if len(ids) == 0 {
		for _, id := range f.instances {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		f.cancelled[id.(string)] = true
	}
	return map[string]any{}, nil
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestRunSendsFollowsAndReportsEveryInstance(t *testing.T) {
	fleet := newFleet(2)
	fleet.exit["i-002"] = 2
	srv, r := fleet.serve(t)
	srv.Fail(awsfake.Throttling(), awsfake.InternalError())
	id, results, err := r.Run(context.Background(), Request{
		Targets: []Target{{Key: "tag:Role", Values: []string{"web"}}}, Script: "uptime", WorkingDir: "/srv",
		Timeout: 90 * time.Second, MaxConcurrency: "50%", MaxErrors: "1", OutputS3Bucket: "out", CloudWatchLogGroup: "/medic",
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "cmd-1" || srv.Calls("SendCommand") != 3 {
		t.Fatalf("id %s after %d SendCommand calls (want 3: throttled, 500, ok)", id, srv.Calls("SendCommand"))
	}
	sent := srv.Last("SendCommand")
	got := fmt.Sprintf("%v %v %v %v %v %v", sent["Targets"], sent["Parameters"], sent["MaxConcurrency"], sent["MaxErrors"], sent["OutputS3BucketName"], sent["CloudWatchOutputConfig"])
	want := "[map[Key:tag:Role Values:[web]]] map[commands:[uptime] executionTimeout:[90] workingDirectory:[/srv]] 50% 1 out map[CloudWatchLogGroupName:/medic CloudWatchOutputEnabled:true]"
	if got != want {
		t.Fatalf("sent\n%s\nwant\n%s", got, want)
	}
	if len(results) != 2 {
		t.Fatalf("results %+v", results)
	}
	if r1, r2 := results[0], results[1]; r1.InstanceID != "i-001" || r1.Status != "Success" || r1.Stdout != "out i-001" || r1.StdoutURL != "https://s3/i-001" ||
		r2.InstanceID != "i-002" || r2.Status != "Failed" || r2.ExitCode != 2 {
		t.Fatalf("results %+v", results)
	}
}

// More than one page of invocations: every instance's result is collected.
func TestRunFollowsEveryPageFor120Instances(t *testing.T) {
	fleet := newFleet(120)
	fleet.exit["i-077"] = 1
	srv, r := fleet.serve(t)
	_, results, err := r.Run(context.Background(), Request{Targets: []Target{{Key: "tag:Role", Values: []string{"web"}}}, Script: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 120 || results[0].InstanceID != "i-001" || results[119].InstanceID != "i-120" {
		t.Fatalf("%d results", len(results))
	}
	failed := 0
	for _, res := range results {
		if res.Status != "Success" {
			failed++
		}
	}
	if failed != 1 || results[76].Status != "Failed" {
		t.Fatalf("%d failed; i-077 %+v", failed, results[76])
	}
	// 1 empty listing, then 3 pages per listing for the InProgress round and the final one.
	if got := srv.Calls("ListCommandInvocations"); got != 1+3+3 {
		t.Fatalf("%d ListCommandInvocations calls", got)
	}
	if srv.Last("ListCommandInvocations")["MaxResults"] != 50.0 {
		t.Fatalf("last listing %v", srv.Last("ListCommandInvocations"))
	}
}

// A caller that gives up (its context ends) leaves nothing running.
func TestRunCancelsTheCommandWhenTheWaitEnds(t *testing.T) {
	fleet := newFleet(3)
	fleet.hang = true
	srv, r := fleet.serve(t)
	ctx, stop := context.WithCancel(context.Background())
	polls := 0
	r.Sleep = func(ctx context.Context, _ time.Duration) error {
		if polls++; polls == 4 {
			stop() // the caller's deadline passes while the command still runs
		}
		return ctx.Err()
	}
	_, _, err := r.Run(ctx, Request{InstanceIDs: []string{"i-001", "i-002", "i-003"}, Script: "sleep 3600"})
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled after the wait ended") {
		t.Fatalf("got %v", err)
	}
	if srv.Calls("CancelCommand") != 1 || len(fleet.cancelled) != 3 {
		t.Fatalf("%d CancelCommand calls, cancelled %v", srv.Calls("CancelCommand"), fleet.cancelled)
	}
}

func TestCancelNamesInstancesAndSurfacesSSMErrors(t *testing.T) {
	fleet := newFleet(3)
	srv, r := fleet.serve(t)
	if err := r.Cancel(context.Background(), "cmd-1", "i-002"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(srv.Last("CancelCommand")["InstanceIds"]); got != "[i-002]" || len(fleet.cancelled) != 1 {
		t.Fatalf("sent %s, cancelled %v", got, fleet.cancelled)
	}
	err := r.Cancel(context.Background(), "cmd-9")
	var invalid *types.InvalidCommandId
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "cmd-9") {
		t.Fatalf("want InvalidCommandId naming cmd-9, got %v", err)
	}
	if err := r.Cancel(context.Background(), ""); err == nil {
		t.Fatal("an empty command id was sent")
	}
}

func TestNoInstancesIsAnError(t *testing.T) {
	fleet := newFleet(0)
	_, r := fleet.serve(t)
	r.NotYet = 3
	_, _, err := r.Run(context.Background(), Request{InstanceIDs: []string{"i-9"}, Script: "true"})
	if err == nil || !strings.Contains(err.Error(), "reached no instance") {
		t.Fatalf("got %v", err)
	}
}

func TestGetGivesUpOnAMissingInvocation(t *testing.T) {
	srv := awsfake.New(t, awsfake.SSM).Handle("GetCommandInvocation", func(map[string]any) (any, error) {
		return nil, &awsfake.Error{Status: http.StatusBadRequest, Type: "InvocationDoesNotExist"}
	})
	r := &Runner{API: ssm.NewFromConfig(srv.Config()), Sleep: noSleep, NotYet: 2}
	_, err := r.Get(context.Background(), "c", "i-1")
	if err == nil || !strings.Contains(err.Error(), "InvocationDoesNotExist") || !strings.Contains(err.Error(), "i-1") || srv.Calls("GetCommandInvocation") != 3 {
		t.Fatalf("got %v after %d calls", err, srv.Calls("GetCommandInvocation"))
	}
}

func TestBadRequestsFailBeforeCallingSSM(t *testing.T) {
	srv := awsfake.New(t, awsfake.SSM)
	r := &Runner{API: ssm.NewFromConfig(srv.Config())}
	for _, req := range []Request{{Script: "true"}, {InstanceIDs: []string{"i"}}} {
		if _, err := r.Send(context.Background(), req); err == nil {
			t.Errorf("%+v: want an error", req)
		}
	}
	if srv.Calls("SendCommand") != 0 {
		t.Fatal("SSM was called")
	}
}

func TestPersistentThrottlingSurfaces(t *testing.T) {
	fleet := newFleet(1)
	srv, r := fleet.serve(t)
	for range 6 {
		srv.Fail(awsfake.Throttling())
	}
	_, err := r.Send(context.Background(), Request{InstanceIDs: []string{"i-1"}, Script: "true"})
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || srv.Calls("SendCommand") != 5 {
		t.Fatalf("got %v after %d calls", err, srv.Calls("SendCommand"))
	}
}
