package action

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
)

// scriptedSSM plays SSM's awkward moments for run-command.asl.json: an
// invocation that does not exist yet, targets that resolve late or never,
// statuses that pass through InProgress, and a refused SendCommand.
type scriptedSSM struct {
	mu        sync.Mutex
	sendErr   *asl.Error
	emptyList int                 // ListCommandInvocations answers with no invocations this many times
	missing   map[string]int      // GetCommandInvocation says InvocationDoesNotExist this many times per instance
	statuses  map[string][]string // per instance, the statuses polls see (the last one repeats)
	calls     map[string]int
	notices   []map[string]any
	sent      map[string]any // the SendCommand request the machine built
	stdout    string         // every invocation's output (SSM truncates at 24,000 characters)
	stderr    string
}

func (s *scriptedSSM) Invoke(_ context.Context, req asl.TaskRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, _ := req.Input.(map[string]any)
	s.calls[req.Resource]++
	switch req.Resource {
	case localtask.ResourceSendCommand:
		s.sent = in
		if s.sendErr != nil {
			return nil, s.sendErr
		}
		return map[string]any{"Command": map[string]any{"CommandId": "c-1"}}, nil
	case localtask.ResourceListCommandInvocations:
		if s.emptyList > 0 {
			s.emptyList--
			return map[string]any{"CommandInvocations": []any{}}, nil
		}
		var list []any
		for id := range s.statuses {
			list = append(list, map[string]any{"InstanceId": id, "Status": "InProgress"})
		}
		return map[string]any{"CommandInvocations": list}, nil
	case localtask.ResourceGetCommandInvocation:
		id := in["InstanceId"].(string)
		if s.missing[id] > 0 {
			s.missing[id]--
			return nil, &asl.Error{Name: "Ssm.InvocationDoesNotExistException", Cause: "not yet"}
		}
		seq := s.statuses[id]
		status := seq[0]
		if len(seq) > 1 {
			s.statuses[id] = seq[1:]
		}
		code := 0.0
		if status != "Success" {
			code = 1
		}
		return map[string]any{"InstanceId": id, "Status": status, "ResponseCode": code, "StandardOutputContent": s.stdout, "StandardErrorContent": s.stderr}, nil
	case localtask.ResourceLambdaInvoke:
		s.notices = append(s.notices, in["Payload"].(map[string]any))
		return map[string]any{"StatusCode": 200.0}, nil
	}
	return nil, &asl.Error{Name: "States.TaskFailed", Cause: "unexpected " + req.Resource}
}

func runScripted(t *testing.T, s *scriptedSSM) (map[string]any, error) {
	t.Helper()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{"cmd": "true", "targets": "tag:Role=web"}, Settings{PollSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	m := newHarness(t).machine(MachineRunCommand)
	out, err := m.Run(context.Background(), plan.Input, asl.Options{Tasks: s, Clock: asl.NewVirtualClock(time.Unix(0, 0))})
	res, _ := out.(map[string]any)
	return res, err
}

func TestRunCommandRidesOutSSMsEventualConsistency(t *testing.T) {
	s := &scriptedSSM{
		emptyList: 2, // tag targets resolve on the third listing
		missing:   map[string]int{"i-1": 2},
		statuses:  map[string][]string{"i-1": {"Pending", "InProgress", "Success"}, "i-2": {"Delayed", "Success"}},
	}
	out, err := runScripted(t, s)
	if err != nil {
		t.Fatal(err)
	}
	invs := invocations(t, out["results"])
	if invs["i-1"]["Status"] != "Success" || invs["i-2"]["Status"] != "Success" {
		t.Fatalf("results %v", invs)
	}
	if got := s.calls[localtask.ResourceGetCommandInvocation]; got != 2+3+2 {
		t.Fatalf("%d GetCommandInvocation calls, want 7 (2 not yet, 3 for i-1, 2 for i-2)", got)
	}
}

func TestRunCommandReportsEveryFailureKind(t *testing.T) {
	s := &scriptedSSM{statuses: map[string][]string{
		"ok": {"Success"}, "failed": {"Failed"}, "timed-out": {"InProgress", "TimedOut"}, "cancelled": {"Cancelling", "Cancelled"},
	}}
	_, err := runScripted(t, s)
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.CommandFailed" {
		t.Fatalf("want Medic.CommandFailed, got %v", err)
	}
	n := s.notices[len(s.notices)-1]
	invs := invocations(t, n["results"])
	for id, want := range map[string]string{"ok": "Success", "failed": "Failed", "timed-out": "TimedOut", "cancelled": "Cancelled"} {
		if invs[id]["Status"] != want {
			t.Errorf("%s: %v", id, invs[id])
		}
	}
	if n["ok"] != false || n["kind"] != "command_result" {
		t.Fatalf("notice %v", n)
	}
}

func TestRunCommandNoTargetsAndNotSent(t *testing.T) {
	_, err := runScripted(t, &scriptedSSM{emptyList: 100})
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.NoTargets" {
		t.Fatalf("want Medic.NoTargets, got %v", err)
	}
	s := &scriptedSSM{sendErr: &asl.Error{Name: "Ssm.InvalidInstanceIdException", Cause: "i-9 is not managed"}}
	_, err = runScripted(t, s)
	if !errors.As(err, &aerr) || aerr.Name != "Medic.CommandNotSent" {
		t.Fatalf("want Medic.CommandNotSent, got %v", err)
	}
	if n := s.notices[0]; n["kind"] != "command_not_sent" || !strings.Contains(toJSON(n["error"]), "i-9 is not managed") {
		t.Fatalf("notice %v", n)
	}
	// Throttling is retried by the state machine, then succeeds.
	s = &scriptedSSM{statuses: map[string][]string{"i-1": {"Success"}}}
	throttled := 2
	h := asl.TaskHandlerFunc(func(ctx context.Context, req asl.TaskRequest) (any, error) {
		if req.Resource == localtask.ResourceSendCommand && throttled > 0 {
			throttled--
			return nil, &asl.Error{Name: "Ssm.ThrottlingException", Cause: "Rate exceeded"}
		}
		return s.Invoke(ctx, req)
	})
	s.calls = map[string]int{}
	plan, _ := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{"cmd": "true", "hosts": "i-1"}, Settings{})
	if _, err := newHarness(t).machine(MachineRunCommand).Run(context.Background(), plan.Input, asl.Options{Tasks: h, Clock: asl.NewVirtualClock(time.Unix(0, 0))}); err != nil {
		t.Fatalf("throttled twice: %v", err)
	}
}

// The state keeps only the end of a long output, says it is cut, and
// points to CloudWatch Logs, where SSM writes all of it.
func TestLongOutputKeepsATailAndPointsToCloudWatch(t *testing.T) {
	h := newHarness(t)
	plan, err := Build(&pack.Action{Ref: "t.long", RunnerType: RunnerLocalShellCmd}, map[string]any{"cmd": "printf start; yes x | head -c 30000 | tr -d '\\n'; printf END"}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	inv := invocations(t, out["results"])[LocalTarget]
	stdout := inv["StandardOutputContent"].(string)
	if len(stdout) != 2000 || !strings.HasSuffix(stdout, "xxxEND") || strings.Contains(stdout, "start") {
		t.Fatalf("stdout is %d characters ending %q, want the last 2000", len(stdout), stdout[max(0, len(stdout)-10):])
	}
	if inv["output_truncated"] != true {
		t.Errorf("output_truncated = %v", inv["output_truncated"])
	}
	cw, _ := inv["CloudWatchOutput"].(map[string]any)
	if cw["log_group"] != "/aws/ssm/local" || !strings.HasSuffix(fmt.Sprint(cw["log_stream_prefix"]), "/"+LocalTarget+"/") {
		t.Errorf("CloudWatchOutput = %v", cw)
	}
}

// Finding 4: every instance's full output in the Map result broke Step
// Functions' 256 KiB limit (States.DataLimitExceeded, not catchable). Now
// 120 instances at SSM's maximum output stay far below it.
func TestVerboseFleetStaysUnderTheStateLimit(t *testing.T) {
	statuses := map[string][]string{}
	for i := range 120 {
		statuses[fmt.Sprintf("i-%03d", i)] = []string{"Success"}
	}
	s := &scriptedSSM{statuses: statuses, stdout: strings.Repeat("o", 24000), stderr: strings.Repeat("e", 8000)}
	out, err := runScripted(t, s)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 256 * 1024
	if size := len(toJSON(out)); size > limit/2 {
		t.Fatalf("the output is %d bytes; the state must stay well below %d", size, limit)
	}
	for _, n := range s.notices {
		if size := len(toJSON(n)); size > limit/2 {
			t.Fatalf("the notification payload is %d bytes", size)
		}
	}
	if invs := invocations(t, out["results"]); len(invs) != 120 || invs["i-007"]["output_truncated"] != true {
		t.Fatalf("%d results, i-007 %v", len(invs), invs["i-007"])
	}
}

// run-command builds its own request: whatever the input says, the document
// is AWS-RunShellScript, targets are instance ids or tag:KEY filters, the
// timeouts are clamped and the output goes to CloudWatch Logs.
func TestRunCommandBuildsTheRequestFromFields(t *testing.T) {
	hostile := map[string]any{
		"send_command": map[string]any{"DocumentName": "AWS-RunPowerShellScript", "Targets": []any{map[string]any{"Key": "InstanceIds", "Values": []any{"*"}}}},
		"run": map[string]any{
			"DocumentName": "AWS-ApplyPatchBaseline", "commands": []any{"id"}, "execution_timeout": 999999.0, "delivery_timeout": 1.0,
			"tag_targets": []any{map[string]any{"key": "InstanceIds", "values": []any{"*"}}},
			"Targets":     []any{map[string]any{"Key": "resource-groups:Name", "Values": []any{"all"}}},
			"max_errors":  "100%",
		},
		"poll_seconds": 5.0, "notify": map[string]any{"action": "t.hostile"},
	}
	s := &scriptedSSM{statuses: map[string][]string{"i-1": {"Success"}}, calls: map[string]int{}}
	m := newHarness(t).machine(MachineRunCommand)
	if _, err := m.Run(context.Background(), hostile, asl.Options{Tasks: s, Clock: asl.NewVirtualClock(time.Unix(0, 0)), MachineName: "Medic-run-command"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"DocumentName": "AWS-RunShellScript", "Comment": "medic",
		"Parameters":     map[string]any{"commands": []any{"id"}, "executionTimeout": []any{"3600"}},
		"Targets":        []any{map[string]any{"Key": "tag:InstanceIds", "Values": []any{"*"}}},
		"TimeoutSeconds": 30.0, "MaxConcurrency": "50", "MaxErrors": "100%",
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "/aws/ssm/Medic-run-command", "CloudWatchOutputEnabled": true},
	}
	if !reflect.DeepEqual(s.sent, want) {
		t.Fatalf("request\n%s\nwant\n%s", toJSON(s.sent), toJSON(want))
	}
	// Instance ids become the InstanceIds target; a plan never sends both.
	plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{"cmd": "true", "hosts": "i-1"}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	s = &scriptedSSM{statuses: map[string][]string{"i-1": {"Success"}}, calls: map[string]int{}}
	if _, err := m.Run(context.Background(), plan.Input, asl.Options{Tasks: s, Clock: asl.NewVirtualClock(time.Unix(0, 0))}); err != nil {
		t.Fatal(err)
	}
	if got := toJSON(s.sent["Targets"]); got != `[{"Key":"InstanceIds","Values":["i-1"]}]` {
		t.Fatalf("Targets = %s", got)
	}
}
