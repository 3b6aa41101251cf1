package awssfn

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/medic-sre/medic/internal/execution"
)

// HistoryAPI is the part of the client History uses.
type HistoryAPI interface {
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, opts ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// maxDetail bounds a step's detail, as the local timeline does.
const maxDetail = 300

// History returns an execution's events after event id since as timeline
// steps (the same kinds the local interpreter records: state, task), and
// the id of the last event seen, so a caller can print a running timeline.
func History(ctx context.Context, api HistoryAPI, arn string, since int64) ([]execution.Step, int64, error) {
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), IncludeExecutionData: aws.Bool(true)}
	var steps []execution.Step
	last := since
	for {
		out, err := api.GetExecutionHistory(ctx, in)
		if err != nil {
			return steps, last, fmt.Errorf("execution history %s: %w", arn, err)
		}
		for _, ev := range out.Events {
			if ev.Id <= since {
				continue
			}
			last = max(last, ev.Id)
			if step, ok := stepOf(ev); ok {
				steps = append(steps, step)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return steps, last, nil
		}
		in.NextToken = out.NextToken
	}
}

func stepOf(ev types.HistoryEvent) (execution.Step, bool) {
	step := execution.Step{Time: aws.ToTime(ev.Timestamp)}
	switch {
	case ev.StateEnteredEventDetails != nil:
		step.Kind, step.Name = "state", aws.ToString(ev.StateEnteredEventDetails.Name)
	case ev.TaskSucceededEventDetails != nil:
		d := ev.TaskSucceededEventDetails
		step.Kind, step.Name, step.Detail = "task", resourceName(d.ResourceType, d.Resource), clip(aws.ToString(d.Output))
	case ev.TaskFailedEventDetails != nil:
		d := ev.TaskFailedEventDetails
		step.Kind, step.Name, step.Detail = "task", resourceName(d.ResourceType, d.Resource), aws.ToString(d.Error)+": "+clip(aws.ToString(d.Cause))
	case ev.TaskTimedOutEventDetails != nil:
		d := ev.TaskTimedOutEventDetails
		step.Kind, step.Name, step.Detail = "task", resourceName(d.ResourceType, d.Resource), aws.ToString(d.Error)+": "+clip(aws.ToString(d.Cause))
	default:
		return step, false
	}
	return step, true
}

// resourceName shows a task as "ssm:sendCommand" rather than its ARN parts.
func resourceName(typ, res *string) string {
	return strings.TrimPrefix(aws.ToString(typ), "aws-sdk:") + ":" + aws.ToString(res)
}

// clip compacts JSON output and cuts it to maxDetail characters.
func clip(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			s = string(b)
		}
	}
	if len(s) > maxDetail {
		return s[:maxDetail] + "…"
	}
	return s
}
