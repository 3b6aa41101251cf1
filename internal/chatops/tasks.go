package chatops

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/asl"
)

// LocalTasks completes tasks waiting in the local ASL interpreter.
type LocalTasks struct{ Hub *asl.TokenHub }

// Succeed implements TaskCompleter.
func (l LocalTasks) Succeed(_ context.Context, token string, output any) error {
	return l.Hub.Success(token, output)
}

// Fail implements TaskCompleter.
func (l LocalTasks) Fail(_ context.Context, token, errName, cause string) error {
	return l.Hub.Failure(token, errName, cause)
}

// TaskTokenAPI is the part of the Step Functions client SFNTasks uses.
type TaskTokenAPI interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// SFNTasks completes tasks waiting in Step Functions.
type SFNTasks struct{ API TaskTokenAPI }

// Step Functions limits: error names 256 characters, causes 32768.
const (
	maxErrorName = 256
	maxCause     = 32768
)

// Succeed implements TaskCompleter.
func (s SFNTasks) Succeed(ctx context.Context, token string, output any) error {
	b, err := json.Marshal(output)
	if err != nil {
		return fmt.Errorf("task output is not JSON: %w", err)
	}
	_, err = s.API.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(b))})
	return err
}

// Fail implements TaskCompleter.
func (s SFNTasks) Fail(ctx context.Context, token, errName, cause string) error {
	_, err := s.API.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
		TaskToken: aws.String(token), Error: aws.String(clip(errName, maxErrorName)), Cause: aws.String(clip(cause, maxCause)),
	})
	return err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
