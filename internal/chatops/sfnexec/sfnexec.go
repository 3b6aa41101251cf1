// Package sfnexec reads Medic's executions from AWS Step Functions, for
// `/medic status` and `/medic alerts` in the chatops Lambda: the deployed
// counterpart of the local execution store. Executions are named by the
// engine (deterministic names), so an execution is found by name under
// each of Medic's state machines.
package sfnexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/medic-sre/medic/internal/awssfn"
	"github.com/medic-sre/medic/internal/execution"
)

// API is the part of the Step Functions client the reader uses.
type API interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, opts ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, opts ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// Reader implements chatops.ExecutionReader over Step Functions.
type Reader struct {
	API API
	// Machines maps state machine names to ARNs (MEDIC_STATE_MACHINES).
	Machines map[string]string
	// Recent is how many executions List returns (default 10); each is
	// described once, to show its action.
	Recent int
	// Timeout bounds one Get or List (default 8 s: the chatops function
	// runs for 10).
	Timeout time.Duration
}

// Get describes the execution named id and reads its history as the
// timeline. Unknown names give execution.ErrNotFound.
func (r *Reader) Get(id string) (*execution.Record, error) {
	ctx, cancel := r.context()
	defer cancel()
	for _, name := range r.names() {
		arn, err := executionARN(r.Machines[name], id)
		if err != nil {
			return nil, err
		}
		rec, err := r.describe(ctx, name, arn)
		var missing *types.ExecutionDoesNotExist
		if errors.As(err, &missing) {
			continue
		}
		if err != nil {
			return nil, err
		}
		steps, _, err := awssfn.History(ctx, r.API, arn, 0)
		if err != nil {
			return nil, err
		}
		rec.Timeline = append(rec.Timeline, steps...)
		if rec.Status.Done() {
			rec.Add(rec.Stopped, "outcome", string(rec.Status), strings.TrimSpace(rec.Error+" "+rec.Cause))
		}
		return rec, nil
	}
	return nil, fmt.Errorf("%w: %q under %d state machine(s)", execution.ErrNotFound, id, len(r.Machines))
}

// List returns the most recent executions of all of Medic's state
// machines, newest first.
func (r *Reader) List() ([]*execution.Record, error) {
	ctx, cancel := r.context()
	defer cancel()
	n := r.Recent
	if n <= 0 {
		n = 10
	}
	type item struct {
		machine string
		types.ExecutionListItem
	}
	var all []item
	for _, name := range r.names() {
		out, err := r.API.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(r.Machines[name]), MaxResults: int32(n)})
		if err != nil {
			return nil, fmt.Errorf("list executions of %s: %w", name, err)
		}
		for _, ex := range out.Executions {
			all = append(all, item{name, ex})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return aws.ToTime(all[i].StartDate).After(aws.ToTime(all[j].StartDate)) })
	recs := make([]*execution.Record, 0, min(n, len(all)))
	for _, it := range all[:min(n, len(all))] {
		rec, err := r.describe(ctx, it.machine, aws.ToString(it.ExecutionArn))
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// describe builds the record of one execution. The action comes from the
// input's notify.action, which every plan carries; the input itself is not
// shown, since unlike the record's parameters it is not masked.
func (r *Reader) describe(ctx context.Context, machine, arn string) (*execution.Record, error) {
	out, err := r.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describe execution %s: %w", arn, err)
	}
	rec := &execution.Record{
		ID: aws.ToString(out.Name), StateMachine: machine, Status: execution.Status(out.Status),
		Started: aws.ToTime(out.StartDate), Stopped: aws.ToTime(out.StopDate),
		Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
	}
	var input struct {
		Notify struct {
			Action string `json:"action"`
		} `json:"notify"`
	}
	if json.Unmarshal([]byte(aws.ToString(out.Input)), &input) == nil {
		rec.Action = input.Notify.Action
	}
	if raw := aws.ToString(out.Output); raw != "" {
		if err := json.Unmarshal([]byte(raw), &rec.Output); err != nil {
			rec.Output = raw
		}
	}
	return rec, nil
}

// executionARN derives an execution's ARN from its state machine's:
// arn:aws:states:R:A:stateMachine:M → arn:aws:states:R:A:execution:M:name.
func executionARN(machineARN, name string) (string, error) {
	parts := strings.Split(machineARN, ":")
	if len(parts) != 7 || parts[5] != "stateMachine" {
		return "", fmt.Errorf("MEDIC_STATE_MACHINES: %q is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", machineARN)
	}
	parts[5] = "execution"
	return strings.Join(parts, ":") + ":" + name, nil
}

func (r *Reader) names() []string {
	names := make([]string, 0, len(r.Machines))
	for n := range r.Machines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *Reader) context() (context.Context, context.CancelFunc) {
	d := r.Timeout
	if d <= 0 {
		d = 8 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}
