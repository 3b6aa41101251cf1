package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

// addStateMachine deploys one definition as a Standard state machine,
// inlined (so tests can read its states), with full logging and X-Ray.
func (m *Medic) addStateMachine(w PlannedWorkflow) {
	id := pascal(w.Name) + "StateMachine"
	logs := awslogs.NewLogGroup(m.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		// The /aws/vendedlogs/ prefix keeps the log resource policy small.
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + m.name(w.Name)),
		Retention:     retentionDays[m.plan.Config.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	subs := map[string]*string{}
	for _, ph := range w.Placeholders {
		subs[ph] = m.substitution(ph)
	}
	sm := awsstepfunctions.NewStateMachine(m.Stack, jsii.String(id), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(m.name(w.Name)),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(w.Definition)),
		DefinitionSubstitutions: &subs,
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs, Level: awsstepfunctions.LogLevel_ALL, IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
	})
	m.StateMachines[w.Name] = sm
	for _, st := range m.workflowStatements(w.Access) {
		sm.AddToRolePolicy(st)
	}
}

// substitution resolves a placeholder NewPlan has already checked.
func (m *Medic) substitution(ph string) *string {
	switch ph {
	case TablePlaceholder:
		return m.Table.TableName()
	case AlarmTopicPlaceholder:
		return m.AlarmTopic.TopicArn()
	}
	for _, f := range m.plan.Functions {
		if contains(f.Placeholders(), ph) {
			return m.Functions[f.Name].FunctionArn()
		}
	}
	for _, w := range m.plan.Workflows {
		if StateMachinePlaceholder(w.Name) == ph {
			return m.stateMachineArn(w.Name)
		}
	}
	panic("stack: unchecked placeholder " + ph) // NewPlan rejects these first
}

// workflowStatements turns Access into IAM: invoke only the functions the
// definition names, SendCommand only with its documents and, when
// healableTagKey is set, only on instances carrying the tag.
func (m *Medic) workflowStatements(a Access) []awsiam.PolicyStatement {
	var out []awsiam.PolicyStatement
	add := func(actions []string, resources []*string, conditions map[string]any) {
		props := &awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &resources}
		if conditions != nil {
			props.Conditions = &conditions
		}
		out = append(out, awsiam.NewPolicyStatement(props))
	}
	if len(a.InvokeFunctions) > 0 {
		var arns []*string
		for _, name := range a.InvokeFunctions {
			arns = append(arns, m.Functions[name].FunctionArn()) // unqualified, as the definitions call it
		}
		add([]string{"lambda:InvokeFunction"}, arns, nil)
	}
	if len(a.Documents) > 0 {
		var docs []*string
		for _, d := range a.Documents {
			docs = append(docs, m.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("ssm"), Account: jsii.String(""), Resource: jsii.String("document"),
				ResourceName: jsii.String(d), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
			}))
		}
		add([]string{"ssm:SendCommand"}, docs, nil)
	}
	byService := map[string][]string{}
	for _, action := range a.InstanceActions {
		svc := action[:strings.Index(action, ":")]
		byService[svc] = append(byService[svc], action)
	}
	for _, svc := range []string{"ssm", "ec2"} {
		if actions := byService[svc]; len(actions) > 0 {
			add(actions, []*string{m.instanceArns()}, m.tagCondition(svc))
		}
	}
	if len(a.GroupActions) > 0 {
		add(a.GroupActions, []*string{m.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("autoscaling"), Resource: jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})}, m.tagCondition("autoscaling"))
	}
	if len(a.GlobalActions) > 0 {
		add(a.GlobalActions, []*string{jsii.String("*")}, nil)
	}
	return out
}

func (m *Medic) instanceArns() *string {
	return m.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ec2"), Resource: jsii.String("instance"),
		ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// tagCondition limits instance actions to healable instances. SSM spells
// the key ssm:resourceTag; EC2 and Auto Scaling use aws:ResourceTag.
func (m *Medic) tagCondition(service string) map[string]any {
	c := m.plan.Config
	if c.HealableTagKey == "" {
		return nil
	}
	key := "aws:ResourceTag/" + c.HealableTagKey
	if service == "ssm" {
		key = "ssm:resourceTag/" + c.HealableTagKey
	}
	return map[string]any{"StringEquals": map[string]any{key: c.HealableTagValue}}
}
