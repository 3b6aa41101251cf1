// Package awsssm runs shell commands on instances with SSM Run Command
// (AWS-RunShellScript) through aws-sdk-go-v2: send, follow every invocation
// until it ends, and return per-instance results in the shape the local
// runner (package localrun) uses. Workflows call SSM directly from Step
// Functions; this adapter serves Go callers (the CLI, chat commands) that
// need the same thing outside a workflow.
package awsssm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medic-sre/medic/internal/poll"
)

// API is the part of the SSM client the runner uses.
type API interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, opts ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, opts ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
	ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, opts ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
	CancelCommand(ctx context.Context, in *ssm.CancelCommandInput, opts ...func(*ssm.Options)) (*ssm.CancelCommandOutput, error)
}

// cancelGrace bounds the CancelCommand call made after the caller gave up.
const cancelGrace = 30 * time.Second

// Target is a tag filter ("tag:Role" = ["web"]) or "InstanceIds".
type Target struct {
	Key    string
	Values []string
}

// Request is one command.
type Request struct {
	InstanceIDs []string
	Targets     []Target // used when InstanceIDs is empty
	Script      string
	WorkingDir  string
	Timeout     time.Duration // execution timeout; 0 = SSM's default (3600 s)
	// MaxConcurrency and MaxErrors are SSM's rate controls: "10" or "25%".
	MaxConcurrency, MaxErrors string
	// Where SSM keeps full output (GetCommandInvocation truncates at 24,000
	// characters).
	OutputS3Bucket, OutputS3Prefix, CloudWatchLogGroup string
	Comment                                            string
}

// Invocation is one instance's result.
type Invocation struct {
	InstanceID string
	Status     string // Pending, InProgress, Delayed, Success, Failed, TimedOut, Cancelled, Cancelling
	ExitCode   int
	Stdout     string
	Stderr     string
	// StdoutURL/StderrURL point at the full output in S3 when configured.
	StdoutURL, StderrURL string
	Start, End           string
}

// Done reports whether the invocation has ended.
func (i Invocation) Done() bool {
	switch i.Status {
	case "Pending", "InProgress", "Delayed", "Cancelling", "":
		return false
	}
	return true
}

// Runner sends commands and follows them.
type Runner struct {
	API API
	// Poll is the interval between status checks (default 2 s).
	Poll time.Duration
	// NotYet is how many times a missing invocation is asked for again
	// before giving up: SSM is eventually consistent right after
	// SendCommand (default 10).
	NotYet int
	// Sleep waits between polls; nil sleeps for real (tests pass their own).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Send starts the command and returns its id. Throttling and transient
// errors are retried by the SDK client's retryer.
func (r *Runner) Send(ctx context.Context, req Request) (string, error) {
	in, err := sendInput(req)
	if err != nil {
		return "", err
	}
	out, err := r.API.SendCommand(ctx, in)
	if err != nil {
		return "", fmt.Errorf("ssm SendCommand: %w", err)
	}
	if out.Command == nil || aws.ToString(out.Command.CommandId) == "" {
		return "", errors.New("ssm SendCommand: the response has no command id")
	}
	return aws.ToString(out.Command.CommandId), nil
}

func sendInput(req Request) (*ssm.SendCommandInput, error) {
	if req.Script == "" {
		return nil, errors.New("ssm command: the script is empty")
	}
	params := map[string][]string{"commands": {req.Script}}
	if req.WorkingDir != "" {
		params["workingDirectory"] = []string{req.WorkingDir}
	}
	if req.Timeout > 0 {
		params["executionTimeout"] = []string{strconv.Itoa(int(req.Timeout.Seconds()))}
	}
	in := &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"),
		Parameters:   params,
		Comment:      optional(req.Comment),
	}
	switch {
	case len(req.InstanceIDs) > 0:
		in.InstanceIds = req.InstanceIDs
	case len(req.Targets) > 0:
		for _, t := range req.Targets {
			in.Targets = append(in.Targets, types.Target{Key: aws.String(t.Key), Values: t.Values})
		}
	default:
		return nil, errors.New("ssm command: give instance ids or targets")
	}
	in.MaxConcurrency, in.MaxErrors = optional(req.MaxConcurrency), optional(req.MaxErrors)
	if req.OutputS3Bucket != "" {
		in.OutputS3BucketName, in.OutputS3KeyPrefix = aws.String(req.OutputS3Bucket), optional(req.OutputS3Prefix)
	}
	if req.CloudWatchLogGroup != "" {
		in.CloudWatchOutputConfig = &types.CloudWatchOutputConfig{CloudWatchLogGroupName: aws.String(req.CloudWatchLogGroup), CloudWatchOutputEnabled: true}
	}
	return in, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// Get reports one instance's invocation with its output (up to 24,000
// characters each), asking again while SSM says it does not exist yet.
func (r *Runner) Get(ctx context.Context, commandID, instanceID string) (Invocation, error) {
	for attempt := 0; ; attempt++ {
		out, err := r.API.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(commandID), InstanceId: aws.String(instanceID)})
		var missing *types.InvocationDoesNotExist
		if errors.As(err, &missing) && attempt < r.notYet() {
			if err := r.sleep(ctx); err != nil {
				return Invocation{}, err
			}
			continue
		}
		if err != nil {
			return Invocation{}, fmt.Errorf("ssm GetCommandInvocation %s on %s: %w", commandID, instanceID, err)
		}
		return Invocation{
			InstanceID: aws.ToString(out.InstanceId), Status: string(out.Status), ExitCode: int(out.ResponseCode),
			Stdout: aws.ToString(out.StandardOutputContent), Stderr: aws.ToString(out.StandardErrorContent),
			StdoutURL: aws.ToString(out.StandardOutputUrl), StderrURL: aws.ToString(out.StandardErrorUrl),
			Start: aws.ToString(out.ExecutionStartDateTime), End: aws.ToString(out.ExecutionEndDateTime),
		}, nil
	}
}

// List reports every instance's invocation status (no output), following
// NextToken through every page (SSM returns at most 50 invocations a page).
func (r *Runner) List(ctx context.Context, commandID string) ([]Invocation, error) {
	var all []Invocation
	in := &ssm.ListCommandInvocationsInput{CommandId: aws.String(commandID), MaxResults: aws.Int32(50)}
	for {
		out, err := r.API.ListCommandInvocations(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("ssm ListCommandInvocations %s: %w", commandID, err)
		}
		for _, ci := range out.CommandInvocations {
			all = append(all, Invocation{InstanceID: aws.ToString(ci.InstanceId), Status: string(ci.Status)})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(all, func(i, j int) bool { return all[i].InstanceID < all[j].InstanceID })
	return all, nil
}

// Wait polls until every invocation has ended (tag targets appear over a
// few polls; none at all after NotYet polls is an error), then fetches each
// instance's full result.
func (r *Runner) Wait(ctx context.Context, commandID string) ([]Invocation, error) {
	for polls := 0; ; polls++ {
		list, err := r.List(ctx, commandID)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 && polls >= r.notYet() {
			return nil, fmt.Errorf("ssm command %s reached no instance: check the ids or tags and that the SSM agent is online", commandID)
		}
		if len(list) > 0 && allDone(list) {
			results := make([]Invocation, 0, len(list))
			for _, inv := range list {
				full, err := r.Get(ctx, commandID, inv.InstanceID)
				if err != nil {
					return nil, err
				}
				results = append(results, full)
			}
			return results, nil
		}
		if err := r.sleep(ctx); err != nil {
			return nil, err
		}
	}
}

// Run sends the command and waits for its results. When ctx ends first
// (the caller's deadline), the command is cancelled on every instance so
// nothing keeps running unwatched, and the error says so.
func (r *Runner) Run(ctx context.Context, req Request) (string, []Invocation, error) {
	id, err := r.Send(ctx, req)
	if err != nil {
		return "", nil, err
	}
	results, err := r.Wait(ctx, id)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
		defer cancel()
		if cerr := r.Cancel(cctx, id); cerr != nil {
			return id, nil, errors.Join(err, cerr)
		}
		return id, nil, fmt.Errorf("ssm command %s cancelled after the wait ended: %w", id, err)
	}
	return id, results, err
}

// Cancel asks SSM to stop a command on the given instances (all of its
// instances when none is given). SSM cancels asynchronously: invocations
// pass through Cancelling to Cancelled, or end first if they were finishing.
func (r *Runner) Cancel(ctx context.Context, commandID string, instanceIDs ...string) error {
	if commandID == "" {
		return errors.New("ssm CancelCommand: no command id")
	}
	_, err := r.API.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String(commandID), InstanceIds: instanceIDs})
	if err != nil {
		return fmt.Errorf("ssm CancelCommand %s: %w", commandID, err)
	}
	return nil
}

func allDone(list []Invocation) bool {
	for _, inv := range list {
		if !inv.Done() {
			return false
		}
	}
	return true
}

func (r *Runner) notYet() int {
	if r.NotYet > 0 {
		return r.NotYet
	}
	return 10
}

func (r *Runner) sleep(ctx context.Context) error { return poll.Sleep(ctx, r.Poll, r.Sleep) }
