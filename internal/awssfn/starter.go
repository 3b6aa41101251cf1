// Package awssfn starts workflow executions in AWS Step Functions: the
// deployed counterpart of the local interpreter.
package awssfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/medic-sre/medic/internal/execution"
)

// API is the part of the Step Functions client the starter uses.
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Starter implements engine.Starter with StartExecution.
type Starter struct {
	API API
	// Machines maps a state machine name (statemachines/NAME.asl.json) to
	// its deployed ARN.
	Machines map[string]string
	Log      *slog.Logger
}

// Start starts the execution named rec.ID. A Standard state machine never
// runs two executions of one name: a repeat with other input fails with
// ExecutionAlreadyExists (reported as execution.ErrExists), a repeat with the
// same input returns the running one. Either way the deterministic name is
// what makes a redelivered alert harmless.
func (s *Starter) Start(ctx context.Context, rec *execution.Record, input any) error {
	arn, err := s.StartNamed(ctx, rec.StateMachine, rec.ID, input)
	if err != nil {
		return err
	}
	if s.Log != nil {
		s.Log.Info("execution started", "execution", rec.ID, "arn", arn, "rule", rec.Rule, "action", rec.Action)
	}
	return nil
}

// StartNamed starts execution name of the named state machine and returns
// the execution ARN (what DescribeExecution takes).
func (s *Starter) StartNamed(ctx context.Context, machine, name string, input any) (string, error) {
	arn, ok := s.Machines[machine]
	if !ok {
		return "", fmt.Errorf("state machine %q is not deployed (known: %v)", machine, keys(s.Machines))
	}
	body, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("execution %s: input: %w", name, err)
	}
	out, err := s.API.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(arn),
		Name:            aws.String(name),
		Input:           aws.String(string(body)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return "", execution.ErrExists
	}
	if err != nil {
		return "", fmt.Errorf("start execution %s: %w", name, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
