// Package localtask implements, on this machine, exactly the Step Functions
// service integrations Medic's workflows use, so `medic serve` runs the very
// same statemachines/*.asl.json as the deployed stack:
//
//   - ssm:sendCommand / ssm:getCommandInvocation / ssm:listCommandInvocations
//     run AWS-RunShellScript commands on local targets (package localrun);
//   - ssm:cancelCommand kills a command's local processes;
//   - ec2:rebootInstances / stopInstances / startInstances /
//     describeInstances / describeInstanceStatus and autoscaling:
//     describeAutoScalingGroups / setDesiredCapacity act on a simulated
//     fleet (Fleet, seeded from fleet.yaml in the state directory), as do
//     autoscaling:setInstanceHealth / describeAutoScalingInstances;
//   - the CloudWatch, RDS, ELBv2, Lambda, SQS, SNS, ECS, DynamoDB,
//     ElastiCache, API Gateway and EBS calls of the aws_* packs act on a
//     simulated account (Account, seeded from account.yaml);
//   - lambda:invoke (and .waitForTaskToken) call Go handlers in-process;
//   - sns:publish hands the message to a local sink.
package localtask

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/medic-sre/medic/internal/asl"
)

// Resource ARNs of the integrations implemented here.
const (
	ResourceSendCommand            = "arn:aws:states:::aws-sdk:ssm:sendCommand"
	ResourceGetCommandInvocation   = "arn:aws:states:::aws-sdk:ssm:getCommandInvocation"
	ResourceListCommandInvocations = "arn:aws:states:::aws-sdk:ssm:listCommandInvocations"
	ResourceCancelCommand          = "arn:aws:states:::aws-sdk:ssm:cancelCommand"
	ResourceRebootInstances        = "arn:aws:states:::aws-sdk:ec2:rebootInstances"
	ResourceStopInstances          = "arn:aws:states:::aws-sdk:ec2:stopInstances"
	ResourceStartInstances         = "arn:aws:states:::aws-sdk:ec2:startInstances"
	ResourceDescribeInstances      = "arn:aws:states:::aws-sdk:ec2:describeInstances"
	ResourceDescribeInstanceStatus = "arn:aws:states:::aws-sdk:ec2:describeInstanceStatus"
	ResourceDescribeASGs           = "arn:aws:states:::aws-sdk:autoscaling:describeAutoScalingGroups"
	ResourceSetDesiredCapacity     = "arn:aws:states:::aws-sdk:autoscaling:setDesiredCapacity"
	ResourceSetInstanceHealth      = "arn:aws:states:::aws-sdk:autoscaling:setInstanceHealth"
	ResourceDescribeASGInstances   = "arn:aws:states:::aws-sdk:autoscaling:describeAutoScalingInstances"
	ResourceLambdaInvoke           = "arn:aws:states:::lambda:invoke"
	ResourceLambdaInvokeWait       = "arn:aws:states:::lambda:invoke.waitForTaskToken"
	ResourceSNSPublish             = "arn:aws:states:::sns:publish"
)

// Function is an in-process stand-in for a Lambda function: it receives the
// Payload and returns the function's result.
type Function func(ctx context.Context, payload any) (any, error)

// Handler dispatches Task states to local implementations.
type Handler struct {
	SSM       *SSM
	Fleet     *Fleet              // EC2 instances and Auto Scaling groups; nil = none
	Account   *Account            // the other AWS services the aws_* packs call; nil = none
	Functions map[string]Function // by function name (the last part of an ARN)
	Publish   func(ctx context.Context, topicArn, subject, message string) error
}

// Invoke implements asl.TaskHandler.
func (h *Handler) Invoke(ctx context.Context, req asl.TaskRequest) (any, error) {
	switch req.Resource {
	case ResourceSendCommand:
		out, err := h.SSM.SendCommand(ctx, req.Input)
		if err == nil && h.Account != nil {
			// A restart through SSM may fix a target's service (aws_elb).
			var in struct{ InstanceIds []string }
			if decode(req.Input, &in) == nil {
				h.Account.CommandSent(in.InstanceIds)
			}
		}
		return out, err
	case ResourceGetCommandInvocation:
		return h.SSM.GetCommandInvocation(req.Input)
	case ResourceListCommandInvocations:
		return h.SSM.ListCommandInvocations(req.Input)
	case ResourceCancelCommand:
		return h.SSM.CancelCommand(req.Input)
	case ResourceLambdaInvoke, ResourceLambdaInvokeWait:
		return h.invokeFunction(ctx, req.Input)
	case ResourceSNSPublish:
		return h.publish(ctx, req.Input)
	}
	if op, ok := h.fleetOps()[req.Resource]; ok {
		out, err := op(req.Input)
		if err == nil && req.Resource == ResourceSetDesiredCapacity && h.Account != nil {
			// A group that grew may be a queue's consumer (aws_sqs.scale_consumer).
			var in struct{ AutoScalingGroupName string }
			if decode(req.Input, &in) == nil {
				h.Account.ConsumerScaled("asg:" + in.AutoScalingGroupName)
			}
		}
		return out, err
	}
	if op, ok := h.account().ops()[req.Resource]; ok {
		h.account().linkFleet(h.Fleet)
		return op(req.Input)
	}
	return nil, &asl.Error{Name: "States.TaskFailed", Cause: fmt.Sprintf("resource %q is not available locally", req.Resource)}
}

// fleetOps maps the EC2 and Auto Scaling resources to the fleet; without a
// fleet every instance and group is unknown, as in an empty account.
func (h *Handler) fleetOps() map[string]func(any) (any, error) {
	f := h.Fleet
	if f == nil {
		f = NewFleet()
	}
	return map[string]func(any) (any, error){
		ResourceRebootInstances:        f.RebootInstances,
		ResourceStopInstances:          f.StopInstances,
		ResourceStartInstances:         f.StartInstances,
		ResourceDescribeInstances:      f.DescribeInstances,
		ResourceDescribeInstanceStatus: f.DescribeInstanceStatus,
		ResourceDescribeASGs:           f.DescribeAutoScalingGroups,
		ResourceSetDesiredCapacity:     f.SetDesiredCapacity,
		ResourceSetInstanceHealth:      f.SetInstanceHealth,
		ResourceDescribeASGInstances:   f.DescribeAutoScalingInstances,
	}
}

// account is the simulated account; without one every resource is unknown.
func (h *Handler) account() *Account {
	if h.Account == nil {
		return NewAccount()
	}
	return h.Account
}

func (h *Handler) invokeFunction(ctx context.Context, input any) (any, error) {
	var in struct {
		FunctionName string
		Payload      any
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	name := in.FunctionName[strings.LastIndex(in.FunctionName, ":")+1:]
	fn, ok := h.Functions[name]
	if !ok {
		return nil, &asl.Error{Name: "Lambda.ResourceNotFoundException", Cause: fmt.Sprintf("function %q is not registered locally", in.FunctionName)}
	}
	out, err := fn(ctx, in.Payload)
	if err != nil {
		// A function error surfaces in Step Functions as Lambda.Unknown or
		// the error type; we use the error text as the cause.
		return nil, &asl.Error{Name: "Lambda.Unknown", Cause: err.Error()}
	}
	return map[string]any{"StatusCode": 200.0, "Payload": out}, nil
}

func (h *Handler) publish(ctx context.Context, input any) (any, error) {
	var in struct {
		TopicArn, Subject, Message string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if h.Publish != nil {
		if err := h.Publish(ctx, in.TopicArn, in.Subject, in.Message); err != nil {
			return nil, &asl.Error{Name: "SNS.InternalErrorException", Cause: err.Error()}
		}
	}
	return map[string]any{"MessageId": uuid.NewString()}, nil
}

// decode turns a task input (a JSON value) into a typed request, naming the
// problem as the real service would: a validation error.
func decode(input any, into any) error {
	raw, err := json.Marshal(input)
	if err == nil {
		err = json.Unmarshal(raw, into)
	}
	if err != nil {
		return &asl.Error{Name: "States.TaskFailed", Cause: "invalid task input: " + err.Error()}
	}
	return nil
}
