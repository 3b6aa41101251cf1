package localtask_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/workflow"
)

// The local SSM answers with the fields the real SSM answers with, in every
// status. The reference field lists come from the AWS SDK's own response
// types, so they are SSM's, not ours.

// sdkFields lists the JSON fields of an SDK response or shape type.
func sdkFields(v any) []string {
	var names []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && f.Name != "ResultMetadata" {
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	return names
}

func keysOf(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func wantFields(t *testing.T, what string, got map[string]any, want []string) {
	t.Helper()
	if g := keysOf(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("%s fields\n got %v\nwant %v", what, g, want)
	}
}

// ssmCall sends one script to localhost and returns the command id.
func ssmCall(t *testing.T, h *localtask.Handler, script string, timeout string) string {
	t.Helper()
	out, err := h.Invoke(context.Background(), asl.TaskRequest{Resource: localtask.ResourceSendCommand, Input: map[string]any{
		"DocumentName": "AWS-RunShellScript", "InstanceIds": []any{"localhost"}, "Comment": "shape test",
		"Parameters": map[string]any{"commands": []any{script}, "executionTimeout": []any{timeout}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out.(map[string]any)["Command"].(map[string]any)["CommandId"].(string)
}

func getInvocation(t *testing.T, h *localtask.Handler, id string) map[string]any {
	t.Helper()
	out, err := h.Invoke(context.Background(), asl.TaskRequest{Resource: localtask.ResourceGetCommandInvocation, Input: map[string]any{"CommandId": id, "InstanceId": "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	inv := out.(map[string]any)
	wantFields(t, "GetCommandInvocation", inv, sdkFields(ssm.GetCommandInvocationOutput{}))
	return inv
}

// untilStarted polls until the local process runs (Pending lasts only until
// its goroutine starts).
func untilStarted(t *testing.T, h *localtask.Handler, id string) map[string]any {
	t.Helper()
	for range 200 {
		if inv := getInvocation(t, h, id); inv["Status"] != "Pending" {
			return inv
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the command never started")
	return nil
}

func wantValues(t *testing.T, inv map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if inv[k] != v {
			t.Errorf("%s = %#v, want %#v (invocation %v)", k, inv[k], v, inv)
		}
	}
}

func TestRunningInvocationHasEveryFieldEmpty(t *testing.T) {
	h := &localtask.Handler{SSM: &localtask.SSM{Dir: t.TempDir()}}
	id := ssmCall(t, h, "echo early; echo early >&2; sleep 30", "60")
	inv := untilStarted(t, h, id)
	wantValues(t, inv, map[string]any{
		"Status": "InProgress", "StatusDetails": "InProgress", "ResponseCode": -1.0,
		"StandardOutputContent": "", "StandardErrorContent": "", "ExecutionEndDateTime": "",
		"Comment": "shape test", "DocumentName": "AWS-RunShellScript", "PluginName": "aws:runShellScript",
		"StandardOutputUrl": "", "StandardErrorUrl": "", "CommandId": id, "InstanceId": "localhost",
	})
	if _, err := time.Parse(time.RFC3339, inv["ExecutionStartDateTime"].(string)); err != nil {
		t.Errorf("ExecutionStartDateTime: %v", err)
	}
	if e := inv["ExecutionElapsedTime"].(string); !strings.HasPrefix(e, "PT") || !strings.HasSuffix(e, "S") {
		t.Errorf("ExecutionElapsedTime %q is not an ISO 8601 duration", e)
	}
	if cw := inv["CloudWatchOutputConfig"].(map[string]any); cw["CloudWatchOutputEnabled"] != false || cw["CloudWatchLogGroupName"] != "" {
		t.Errorf("CloudWatchOutputConfig %v", cw)
	}

	// Cancelled while running: SSM's agent reports the kill as 137.
	if _, err := h.Invoke(context.Background(), asl.TaskRequest{Resource: localtask.ResourceCancelCommand, Input: map[string]any{"CommandId": id}}); err != nil {
		t.Fatal(err)
	}
	if s := getInvocation(t, h, id)["Status"]; s != "Cancelling" && s != "Cancelled" {
		t.Errorf("right after CancelCommand: %v", s)
	}
	h.SSM.Wait(id)
	inv = getInvocation(t, h, id)
	wantValues(t, inv, map[string]any{"Status": "Cancelled", "StatusDetails": "Cancelled", "ResponseCode": 137.0})
	if inv["ExecutionEndDateTime"] == "" {
		t.Error("a cancelled invocation has no end time")
	}
}

func TestFinishedInvocationShapes(t *testing.T) {
	cases := []struct {
		name, script, timeout string
		want                  map[string]any
	}{
		{"success", "echo out; echo warn >&2", "60", map[string]any{
			"Status": "Success", "StatusDetails": "Success", "ResponseCode": 0.0, "StandardOutputContent": "out\n", "StandardErrorContent": "warn\n"}},
		{"failed", "echo out; echo err >&2; exit 4", "60", map[string]any{
			"Status": "Failed", "StatusDetails": "Failed", "ResponseCode": 4.0, "StandardOutputContent": "out\n", "StandardErrorContent": "err\n"}},
		{"timed out", "echo before; sleep 30", "1", map[string]any{
			"Status": "TimedOut", "StatusDetails": "ExecutionTimedOut", "ResponseCode": 137.0, "StandardOutputContent": "before\n", "StandardErrorContent": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := &localtask.Handler{SSM: &localtask.SSM{Dir: t.TempDir()}}
			id := ssmCall(t, h, c.script, c.timeout)
			h.SSM.Wait(id)
			inv := getInvocation(t, h, id)
			wantValues(t, inv, c.want)
			start, err1 := time.Parse(time.RFC3339, inv["ExecutionStartDateTime"].(string))
			end, err2 := time.Parse(time.RFC3339, inv["ExecutionEndDateTime"].(string))
			if err1 != nil || err2 != nil || end.Before(start) {
				t.Errorf("start %v end %v (%v %v)", inv["ExecutionStartDateTime"], inv["ExecutionEndDateTime"], err1, err2)
			}
		})
	}
}

func TestListedInvocationShapes(t *testing.T) {
	h := &localtask.Handler{SSM: &localtask.SSM{Dir: t.TempDir()}}
	id := ssmCall(t, h, "echo listed; exit 2", "60")
	h.SSM.Wait(id)
	for _, details := range []bool{false, true} {
		out, err := h.Invoke(context.Background(), asl.TaskRequest{Resource: localtask.ResourceListCommandInvocations, Input: map[string]any{"CommandId": id, "Details": details}})
		if err != nil {
			t.Fatal(err)
		}
		invs := out.(map[string]any)["CommandInvocations"].([]any)
		inv := invs[0].(map[string]any)
		wantFields(t, "CommandInvocation", inv, sdkFields(types.CommandInvocation{}))
		wantValues(t, inv, map[string]any{"Status": "Failed", "StatusDetails": "Failed", "InstanceId": "localhost", "Comment": "shape test"})
		if _, err := time.Parse(time.RFC3339, inv["RequestedDateTime"].(string)); err != nil {
			t.Errorf("RequestedDateTime: %v", err)
		}
		plugins := inv["CommandPlugins"].([]any)
		if !details {
			if len(plugins) != 0 {
				t.Errorf("plugins without Details: %v", plugins)
			}
			continue
		}
		p := plugins[0].(map[string]any)
		wantFields(t, "CommandPlugin", p, sdkFields(types.CommandPlugin{}))
		wantValues(t, p, map[string]any{"Name": "aws:runShellScript", "Status": "Failed", "ResponseCode": 2.0, "Output": "listed\n"})
	}
}

// The fault: a remediate step longer than one poll failed the
// workflow, because the running invocation had no StandardErrorContent for
// the poll's ResultSelector. Real commands, real time, the real machine.
func TestRemediationLongerThanOnePollSucceeds(t *testing.T) {
	lib, err := workflow.LoadLibrary("../../statemachines", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := lib.Machine("diagnose-remediate-verify")
	dir := t.TempDir()
	h := &localtask.Handler{SSM: &localtask.SSM{Dir: dir}, Functions: map[string]localtask.Function{
		"medic-notify": func(context.Context, any) (any, error) { return nil, nil },
	}}
	var mu sync.Mutex
	running := 0 // polls of the remediation that found it still running
	counting := asl.TaskHandlerFunc(func(ctx context.Context, req asl.TaskRequest) (any, error) {
		out, err := h.Invoke(ctx, req)
		if req.StateName == "PollRemediate" && err == nil && out.(map[string]any)["Status"] == "InProgress" {
			mu.Lock()
			running++
			mu.Unlock()
		}
		return out, err
	})
	input := map[string]any{
		"target": "localhost",
		"commands": map[string]any{
			"diagnose":  "echo diagnosed",
			"remediate": "sleep 2; touch healed; echo remediated",
			"verify":    "test -f healed && echo verified",
		},
		"timeout_seconds": 30.0, "poll_seconds": 1.0, "max_attempts": 1.0,
		"retry": map[string]any{"attempt": 1.0}, "results": map[string]any{}, "notify": map[string]any{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := m.Run(ctx, input, asl.Options{Tasks: counting, ExecutionName: "long-remediation"})
	if err != nil {
		t.Fatalf("the execution failed: %v", err)
	}
	results := out.(map[string]any)["results"].(map[string]any)
	rem := results["remediate"].(map[string]any)
	if rem["status"] != "Success" || rem["stdout"] != "remediated\n" || rem["stderr"] != "" || rem["exit_code"] != 0.0 {
		t.Fatalf("remediate result %v", rem)
	}
	if running == 0 {
		t.Fatal("no poll found the remediation running: the test did not cover a long step")
	}
}
