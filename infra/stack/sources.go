package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
)

// ExecutionEndStates are the Step Functions execution statuses sent back
// to Medic: each ends an execution, so consolidation releases its lease.
var ExecutionEndStates = []string{"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

// ExecutionStatusDetailType is the EventBridge detail-type of Step
// Functions execution status events.
const ExecutionStatusDetailType = "Step Functions Execution Status Change"

// AlarmStates are the alarm state changes sent to Medic: ALARM opens or
// refreshes an alert, OK resolves it.
var AlarmStates = []string{"ALARM", "OK"}

// addAlarmSources connects every alarm-fed function to the EventBridge
// rule and to the alarm topic. Both deliveries are asynchronous, so each
// has retries and the dead-letter queue on its side as well as Lambda's.
func (m *Medic) addAlarmSources() {
	rule := awsevents.NewRule(m.Stack, jsii.String("AlarmStateChanges"), &awsevents.RuleProps{
		Description: jsii.String("CloudWatch alarm state changes to Medic (only the alarms context alarmNamePrefixes names)"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.cloudwatch"),
			DetailType: jsii.Strings(AlarmDetailType),
			Detail: &map[string]any{
				"state":     map[string]any{"value": jsii.Strings(AlarmStates...)},
				"alarmName": m.alarmNameFilter(),
			},
		},
	})
	for _, f := range m.plan.Functions {
		if !f.invokedBy(FromAlarms) {
			continue
		}
		fn := m.Functions[f.Name]
		rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: m.DeadLetters,
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
		}))
		m.AlarmTopic.AddSubscription(awssnssubscriptions.NewLambdaSubscription(fn, &awssnssubscriptions.LambdaSubscriptionProps{
			DeadLetterQueue: m.DeadLetters,
		}))
	}
}

// alarmNameFilter takes only the alarms the deployer opted in by name
// prefix, so the region's other alarms never invoke ingest or write the
// table. "*" takes every alarm except Medic's own (they go to people;
// feeding them back in could loop when Medic itself is failing) and Auto
// Scaling's target-tracking alarms. Config.Validate keeps both out of any
// listed prefix.
func (m *Medic) alarmNameFilter() *[]*string {
	prefixes := m.plan.Config.AlarmNamePrefixes
	if len(prefixes) == 1 && prefixes[0] == AllAlarms {
		return awsevents.Match_AnythingButPrefix(jsii.String(*m.StackName()+"-"), jsii.String(TargetTrackingPrefix))
	}
	var any []any
	for _, p := range prefixes {
		any = append(any, awsevents.Match_Prefix(jsii.String(p)))
	}
	return awsevents.Match_AnyOf(any...)
}

// addExecutionStatusSource sends the end of every execution of Medic's own
// state machines (and of no one else's) to the functions that track them,
// with retries and the DLQ like the alarm rule.
func (m *Medic) addExecutionStatusSource() {
	var machines []*string
	for _, w := range m.plan.Workflows {
		machines = append(machines, m.stateMachineArn(w.Name))
	}
	var rule awsevents.Rule
	for _, f := range m.plan.Functions {
		if !f.invokedBy(FromExecutionStatus) || len(machines) == 0 {
			continue
		}
		if rule == nil {
			rule = awsevents.NewRule(m.Stack, jsii.String("ExecutionStatusChanges"), &awsevents.RuleProps{
				Description: jsii.String("Ends of Medic's Step Functions executions: release consolidation leases, finish chat threads"),
				EventPattern: &awsevents.EventPattern{
					Source:     jsii.Strings("aws.states"),
					DetailType: jsii.Strings(ExecutionStatusDetailType),
					Detail: &map[string]any{
						"status":          jsii.Strings(ExecutionEndStates...),
						"stateMachineArn": &machines,
					},
				},
			})
		}
		rule.AddTarget(awseventstargets.NewLambdaFunction(m.Functions[f.Name], &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: m.DeadLetters,
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
		}))
	}
}
