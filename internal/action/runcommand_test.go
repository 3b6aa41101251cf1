package action

import (
	"context"
	"errors"
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
}

func (s *scriptedSSM) Invoke(_ context.Context, req asl.TaskRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, _ := req.Input.(map[string]any)
	s.calls[req.Resource]++
	switch req.Resource {
	case localtask.ResourceSendCommand:
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
		return map[string]any{"InstanceId": id, "Status": status, "ResponseCode": code, "StandardOutputContent": "", "StandardErrorContent": ""}, nil
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

// Output beyond SSM's 24,000 characters is truncated locally as in AWS.
func TestLongOutputIsTruncatedLikeSSM(t *testing.T) {
	h := newHarness(t)
	plan, err := Build(&pack.Action{Ref: "t.long", RunnerType: RunnerLocalShellCmd}, map[string]any{"cmd": "yes x | head -c 30000"}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(invocations(t, out["results"])[LocalTarget]["StandardOutputContent"].(string)); got != 24000 {
		t.Fatalf("stdout is %d characters, want 24000", got)
	}
}
