package localtask

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localrun"
)

// SSM runs Run Command invocations of AWS-RunShellScript on this machine.
// Every target id (an instance id or a local name such as "localhost") runs
// the command here; the id is kept so results read as they would in AWS.
type SSM struct {
	// Dir is the default working directory for commands.
	Dir string

	mu       sync.Mutex
	commands map[string]map[string]*invocation // command id → target → invocation
}

type invocation struct {
	done   chan struct{}
	result localrun.Result
}

type sendCommandInput struct {
	DocumentName string
	InstanceIds  []string
	Targets      []struct {
		Key    string
		Values []string
	}
	Parameters     map[string][]string
	TimeoutSeconds int
	Comment        string
}

// SendCommand starts the command on every target and returns at once, as SSM
// does; the workflow polls GetCommandInvocation.
func (s *SSM) SendCommand(ctx context.Context, input any) (any, error) {
	var in sendCommandInput
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if in.DocumentName != "AWS-RunShellScript" {
		return nil, &asl.Error{Name: "Ssm.InvalidDocumentException", Cause: fmt.Sprintf("document %q is not available locally; use AWS-RunShellScript", in.DocumentName)}
	}
	targets := in.InstanceIds
	for _, t := range in.Targets {
		targets = append(targets, t.Values...)
	}
	if len(targets) == 0 {
		return nil, &asl.Error{Name: "Ssm.InvalidInstanceIdException", Cause: "no InstanceIds or Targets given"}
	}
	cmd, err := commandFrom(in, s.Dir)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	invs := make(map[string]*invocation, len(targets))
	for _, target := range targets {
		inv := &invocation{done: make(chan struct{})}
		invs[target] = inv
		// Detached from ctx: like SSM, a command outlives the API call that
		// started it.
		go func() {
			inv.result = localrun.Run(context.WithoutCancel(ctx), cmd)
			close(inv.done)
		}()
	}
	s.mu.Lock()
	if s.commands == nil {
		s.commands = map[string]map[string]*invocation{}
	}
	s.commands[id] = invs
	s.mu.Unlock()
	return map[string]any{"Command": map[string]any{
		"CommandId":    id,
		"DocumentName": in.DocumentName,
		"InstanceIds":  toAny(targets),
		"Status":       "Pending",
		"Comment":      in.Comment,
	}}, nil
}

func commandFrom(in sendCommandInput, dir string) (localrun.Command, error) {
	lines := in.Parameters["commands"]
	if len(lines) == 0 {
		return localrun.Command{}, &asl.Error{Name: "Ssm.InvalidParametersException", Cause: "Parameters.commands is required"}
	}
	cmd := localrun.Command{Dir: dir, Timeout: time.Hour}
	for _, l := range lines {
		cmd.Script += l + "\n"
	}
	if wd := in.Parameters["workingDirectory"]; len(wd) > 0 && wd[0] != "" {
		cmd.Dir = wd[0]
	}
	if et := in.Parameters["executionTimeout"]; len(et) > 0 {
		secs, err := strconv.Atoi(et[0])
		if err != nil || secs <= 0 {
			return cmd, &asl.Error{Name: "Ssm.InvalidParametersException", Cause: fmt.Sprintf("executionTimeout %q is not a positive number of seconds", et[0])}
		}
		cmd.Timeout = time.Duration(secs) * time.Second
	}
	return cmd, nil
}

// GetCommandInvocation reports one target's invocation in SSM's shape.
func (s *SSM) GetCommandInvocation(input any) (any, error) {
	var in struct{ CommandId, InstanceId string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	inv, ok := s.commands[in.CommandId][in.InstanceId]
	s.mu.Unlock()
	if !ok {
		return nil, &asl.Error{Name: "Ssm.InvocationDoesNotExistException", Cause: fmt.Sprintf("no invocation of command %q on %q", in.CommandId, in.InstanceId)}
	}
	return invocationView(in.CommandId, in.InstanceId, inv), nil
}

// ListCommandInvocations reports every target of a command.
func (s *SSM) ListCommandInvocations(input any) (any, error) {
	var in struct{ CommandId string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	invs := s.commands[in.CommandId]
	s.mu.Unlock()
	list := []any{}
	for target, inv := range invs {
		list = append(list, invocationView(in.CommandId, target, inv))
	}
	return map[string]any{"CommandInvocations": list}, nil
}

func invocationView(commandID, target string, inv *invocation) map[string]any {
	view := map[string]any{"CommandId": commandID, "InstanceId": target, "Status": "InProgress", "ResponseCode": -1.0}
	select {
	case <-inv.done:
		r := inv.result
		view["Status"] = r.Status
		view["StatusDetails"] = r.Status
		view["ResponseCode"] = float64(r.ExitCode)
		view["StandardOutputContent"] = r.Stdout
		view["StandardErrorContent"] = r.Stderr
		view["ExecutionStartDateTime"] = r.Start.UTC().Format(time.RFC3339Nano)
		view["ExecutionEndDateTime"] = r.End.UTC().Format(time.RFC3339Nano)
	default:
	}
	return view
}

// Wait blocks until every invocation of a command has finished; tests and
// the demo use it to avoid sleeping.
func (s *SSM) Wait(commandID string) {
	s.mu.Lock()
	invs := s.commands[commandID]
	s.mu.Unlock()
	for _, inv := range invs {
		<-inv.done
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
