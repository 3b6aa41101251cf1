package awssfn

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/medic-sre/medic/internal/poll"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// DescribeAPI is the part of the Step Functions client Watcher uses.
type DescribeAPI interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Outcome is where an execution stands.
type Outcome struct {
	ARN    string
	Status string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
	Output any    // the decoded output when it succeeded
	Error  string
	Cause  string
	Start  time.Time
	Stop   time.Time
}

// Done reports whether the execution has ended.
func (o Outcome) Done() bool {
	return o.Status != string(types.ExecutionStatusRunning) && o.Status != string(types.ExecutionStatusPendingRedrive)
}

// Watcher follows executions with DescribeExecution.
type Watcher struct {
	API  DescribeAPI
	Poll time.Duration // default 2 s
	// Sleep waits between polls; nil sleeps for real.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnPoll, when set, sees every intermediate outcome (for progress).
	OnPoll func(Outcome)
}

// Describe reports an execution once.
func (w *Watcher) Describe(ctx context.Context, arn string) (Outcome, error) {
	out, err := w.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return Outcome{}, fmt.Errorf("describe execution %s: %w", arn, err)
	}
	o := Outcome{
		ARN: arn, Status: string(out.Status), Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
		Start: aws.ToTime(out.StartDate), Stop: aws.ToTime(out.StopDate),
	}
	if raw := aws.ToString(out.Output); raw != "" {
		if err := json.Unmarshal([]byte(raw), &o.Output); err != nil {
			return o, fmt.Errorf("execution %s: output is not JSON: %w", arn, err)
		}
	}
	return o, nil
}

// Wait polls until the execution ends. Throttling and transient errors are
// retried by the client's retryer; the context bounds the wait.
func (w *Watcher) Wait(ctx context.Context, arn string) (Outcome, error) {
	for {
		o, err := w.Describe(ctx, arn)
		if err != nil || o.Done() {
			return o, err
		}
		if w.OnPoll != nil {
			w.OnPoll(o)
		}
		if err := w.sleep(ctx); err != nil {
			return o, err
		}
	}
}

func (w *Watcher) sleep(ctx context.Context) error { return poll.Sleep(ctx, w.Poll, w.Sleep) }

// TaskAPI is the part of the client that answers .waitForTaskToken tasks.
type TaskAPI interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// Tasks answers waiting tasks (approvals): the AWS counterpart of
// asl.TokenHub's Success and Failure.
type Tasks struct{ API TaskAPI }

// Success resumes the task with output as its result.
func (t *Tasks) Success(ctx context.Context, token string, output any) error {
	body, err := json.Marshal(output)
	if err != nil {
		return fmt.Errorf("task success: output: %w", err)
	}
	_, err = t.API.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("send task success: %w", err)
	}
	return nil
}

// Failure fails the task with a named error (at most 256 characters, as
// Step Functions requires) and a cause.
func (t *Tasks) Failure(ctx context.Context, token, errName, cause string) error {
	if len(errName) > 256 {
		errName = errName[:256]
	}
	if len(cause) > 32768 {
		cause = cause[:32768]
	}
	_, err := t.API.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errName), Cause: aws.String(cause)})
	if err != nil {
		return fmt.Errorf("send task failure: %w", err)
	}
	return nil
}
