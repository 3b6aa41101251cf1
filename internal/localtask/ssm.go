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
	// Path is the PATH commands run with ("" = localrun.DefaultPath).
	// Commands never inherit Medic's environment (see localrun.Environment).
	Path string

	mu       sync.Mutex
	commands map[string]*command
}

// command is one SendCommand: what SSM echoes back about it, its targets
// in the order given (listings page through them in that order) and each
// target's invocation.
type command struct {
	id, document, documentVersion, comment string
	requested                              time.Time
	cloudWatch                             map[string]any
	targets                                []string
	invs                                   map[string]*invocation
}

type invocation struct {
	done      chan struct{}
	result    localrun.Result
	started   time.Time          // zero while Pending; guarded by SSM.mu
	cancel    context.CancelFunc // kills the local process
	cancelled bool               // CancelCommand asked; guarded by SSM.mu
}

// maxListResults is SSM's page size limit for ListCommandInvocations.
const maxListResults = 50

type sendCommandInput struct {
	DocumentName string
	InstanceIds  []string
	Targets      []struct {
		Key    string
		Values []string
	}
	Parameters             map[string][]string
	TimeoutSeconds         int
	Comment                string
	DocumentVersion        string
	CloudWatchOutputConfig *struct {
		CloudWatchLogGroupName  string
		CloudWatchOutputEnabled bool
	}
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
	cmd, err := commandFrom(in, s.Dir, s.Path)
	if err != nil {
		return nil, err
	}
	c := newCommand(in, len(targets))
	for _, target := range targets {
		if c.invs[target] != nil {
			continue // SSM runs a command once per instance
		}
		// Detached from ctx: like SSM, a command outlives the API call that
		// started it; only CancelCommand (or its timeout) stops it.
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		inv := &invocation{done: make(chan struct{}), cancel: cancel}
		c.targets = append(c.targets, target)
		c.invs[target] = inv
		go func() {
			defer cancel()
			s.mu.Lock()
			inv.started = time.Now()
			s.mu.Unlock()
			inv.result = localrun.Run(runCtx, cmd)
			close(inv.done)
		}()
	}
	s.mu.Lock()
	if s.commands == nil {
		s.commands = map[string]*command{}
	}
	s.commands[c.id] = c
	s.mu.Unlock()
	return map[string]any{"Command": map[string]any{
		"CommandId":    c.id,
		"DocumentName": in.DocumentName,
		"InstanceIds":  toAny(targets),
		"Status":       "Pending",
		"Comment":      in.Comment,
	}}, nil
}

func newCommand(in sendCommandInput, targets int) *command {
	c := &command{
		id: uuid.NewString(), document: in.DocumentName, documentVersion: in.DocumentVersion, comment: in.Comment,
		requested: time.Now(), invs: make(map[string]*invocation, targets),
		cloudWatch: map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
	}
	if cw := in.CloudWatchOutputConfig; cw != nil {
		c.cloudWatch = map[string]any{"CloudWatchLogGroupName": cw.CloudWatchLogGroupName, "CloudWatchOutputEnabled": cw.CloudWatchOutputEnabled}
	}
	return c
}

func commandFrom(in sendCommandInput, dir, path string) (localrun.Command, error) {
	lines := in.Parameters["commands"]
	if len(lines) == 0 {
		return localrun.Command{}, &asl.Error{Name: "Ssm.InvalidParametersException", Cause: "Parameters.commands is required"}
	}
	cmd := localrun.Command{Dir: dir, Path: path, Timeout: time.Hour}
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
	defer s.mu.Unlock()
	c := s.commands[in.CommandId]
	if c == nil || c.invs[in.InstanceId] == nil {
		return nil, &asl.Error{Name: "Ssm.InvocationDoesNotExistException", Cause: fmt.Sprintf("no invocation of command %q on %q", in.CommandId, in.InstanceId)}
	}
	return c.invocationResult(in.InstanceId, time.Now()), nil
}

// ListCommandInvocations reports a command's targets a page at a time
// (MaxResults, at most 50; NextToken continues), as SSM does.
func (s *SSM) ListCommandInvocations(input any) (any, error) {
	var in struct {
		CommandId  string
		MaxResults int
		NextToken  string
		Details    bool
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if in.MaxResults == 0 {
		in.MaxResults = maxListResults
	}
	if in.MaxResults < 1 || in.MaxResults > maxListResults {
		return nil, &asl.Error{Name: "Ssm.SsmException", Cause: fmt.Sprintf("MaxResults %d is outside 1..%d (Error Code: ValidationException)", in.MaxResults, maxListResults)}
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, &asl.Error{Name: "Ssm.InvalidNextTokenException", Cause: fmt.Sprintf("NextToken %q was not issued by this command's listing", in.NextToken)}
		}
		start = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []any{}
	out := map[string]any{}
	if c := s.commands[in.CommandId]; c != nil && start < len(c.targets) {
		end := min(start+in.MaxResults, len(c.targets))
		for _, target := range c.targets[start:end] {
			list = append(list, c.listedInvocation(target, in.Details))
		}
		if end < len(c.targets) {
			out["NextToken"] = strconv.Itoa(end)
		}
	}
	out["CommandInvocations"] = list
	return out, nil
}

// CancelCommand kills a command's local processes on the named targets
// (every target when none is named). Like SSM it returns at once: the
// invocations read Cancelling until the processes are gone, then Cancelled
// (or whatever they ended with if they were already finishing).
func (s *SSM) CancelCommand(input any) (any, error) {
	var in struct {
		CommandId   string
		InstanceIds []string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.commands[in.CommandId]
	if c == nil {
		return nil, &asl.Error{Name: "Ssm.InvalidCommandIdException", Cause: fmt.Sprintf("command %q does not exist", in.CommandId)}
	}
	targets := in.InstanceIds
	if len(targets) == 0 {
		targets = c.targets
	}
	for _, t := range targets {
		if c.invs[t] == nil {
			return nil, &asl.Error{Name: "Ssm.InvalidInstanceIdException", Cause: fmt.Sprintf("command %q was not sent to %q", in.CommandId, t)}
		}
	}
	for _, t := range targets {
		inv := c.invs[t]
		inv.cancelled = true
		inv.cancel()
	}
	return map[string]any{}, nil
}

// Wait blocks until every invocation of a command has finished; tests and
// the demo use it to avoid sleeping.
func (s *SSM) Wait(commandID string) {
	s.mu.Lock()
	c := s.commands[commandID]
	s.mu.Unlock()
	if c == nil {
		return
	}
	for _, inv := range c.invs {
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
