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
// inlined (so tests can read its states), with logging and X-Ray.
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
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(w.DeployedDefinition())),
		DefinitionSubstitutions: &subs,
		Logs:                    m.stateMachineLogging(logs),
		TracingEnabled:          jsii.Bool(true),
	})
	m.StateMachines[w.Name] = sm
	if strings.Contains(w.Definition, `"CloudWatchOutputConfig"`) {
		m.addCommandOutputLogs(w)
	}
	for _, st := range m.workflowStatements(w.Access) {
		sm.AddToRolePolicy(st)
	}
}

// addCommandOutputLogs creates the group a workflow's SSM commands write
// their full output to (run-command names it /aws/ssm/<state machine
// name>), so it has the stack's retention and goes with the stack. The SSM
// agent writes with the instance profile's credentials (docs/deploy.md).
func (m *Medic) addCommandOutputLogs(w PlannedWorkflow) {
	group := awslogs.NewLogGroup(m.Stack, jsii.String(pascal(w.Name)+"CommandOutput"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(CommandOutputLogGroup(m.name(w.Name))),
		Retention:     retentionDays[m.plan.Config.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	awscdk.NewCfnOutput(m.Stack, jsii.String(pascal(w.Name)+"CommandOutputLogGroup"), &awscdk.CfnOutputProps{
		Value:       group.LogGroupName(),
		Description: jsii.String("Full output of " + w.Name + "'s commands (streams <command id>/<instance id>/...)"),
	})
}

// CommandOutputLogGroup is where run-command sends SSM output by default.
func CommandOutputLogGroup(stateMachineName string) string { return "/aws/ssm/" + stateMachineName }

// stateMachineLogging: errors only and no execution data by default, since
// inputs and outputs carry request headers, datastore values and command
// output; context logExecutionData opts in to every event with its data.
func (m *Medic) stateMachineLogging(logs awslogs.ILogGroup) *awsstepfunctions.LogOptions {
	if m.plan.Config.LogExecutionData {
		return &awsstepfunctions.LogOptions{Destination: logs, Level: awsstepfunctions.LogLevel_ALL, IncludeExecutionData: jsii.Bool(true)}
	}
	return &awsstepfunctions.LogOptions{Destination: logs, Level: awsstepfunctions.LogLevel_ERROR, IncludeExecutionData: jsii.Bool(false)}
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
			docs = append(docs, m.documentArn(d))
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
	if a.EncryptedVolumes {
		// Starting an instance whose EBS volumes use a customer managed key
		// needs a grant for EC2; without it the start fails and the
		// instance stays stopped. Only through EC2, only for AWS resources.
		keys := []*string{m.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("kms"), Resource: jsii.String("key"), ResourceName: jsii.String("*"),
			ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		})}
		viaEC2 := map[string]any{"kms:ViaService": "ec2." + *m.Region() + ".amazonaws.com"}
		add(KMSGrantActions, keys, map[string]any{"StringEquals": viaEC2, "Bool": map[string]any{"kms:GrantIsForAWSResource": "true"}})
		add(KMSDecryptActions, keys, map[string]any{"StringEquals": viaEC2})
	}
	for _, p := range a.OnPatterns {
		var conditions map[string]any
		if p.On.Tagged {
			conditions = m.tagCondition(p.On.Service)
		}
		add(p.Actions, []*string{m.PatternArn(p.On)}, conditions)
	}
	if len(a.GlobalActions) > 0 {
		add(a.GlobalActions, []*string{jsii.String("*")}, nil)
	}
	return out
}

// KMS actions a workflow that starts instances needs for encrypted EBS
// volumes with customer managed keys.
var (
	KMSGrantActions   = []string{"kms:CreateGrant"}
	KMSDecryptActions = []string{"kms:Decrypt"}
)

// documentArn: documents Amazon owns (names starting with AWS, Amazon or
// AMZN, which no account may create) have no account in their ARN; every
// other document is this account's own.
func (m *Medic) documentArn(name string) *string {
	components := &awscdk.ArnComponents{
		Service: jsii.String("ssm"), Resource: jsii.String("document"),
		ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	}
	if AmazonOwnedDocument(name) {
		components.Account = jsii.String("")
	}
	return m.FormatArn(components)
}

// AmazonOwnedDocument tells whether an SSM document name is reserved for
// Amazon's documents.
func AmazonOwnedDocument(name string) bool {
	lower := strings.ToLower(name)
	for _, p := range []string{"aws", "amazon", "amzn"} {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// PatternArn is arn:<partition>:<service>:<region>:<account>:<resource>.
func (m *Medic) PatternArn(p ResourcePattern) *string {
	components := &awscdk.ArnComponents{
		Service: jsii.String(p.Service), Resource: jsii.String(p.Resource), ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME,
	}
	if p.NoAccount {
		components.Account = jsii.String("")
	}
	return m.FormatArn(components)
}

func (m *Medic) instanceArns() *string {
	return m.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ec2"), Resource: jsii.String("instance"),
		ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// tagCondition limits instance and group actions to healable targets.
// Each service spells the key its own way: ssm:resourceTag (SendCommand on
// instances), aws:ResourceTag (EC2), autoscaling:ResourceTag. Only the
// typed opt-out (medicUnsafeAllInstances) leaves them unconditioned.
func (m *Medic) tagCondition(service string) map[string]any {
	c := m.plan.Config
	if c.HealableTagKey == "" {
		return nil
	}
	return map[string]any{"StringEquals": map[string]any{TagConditionKey(service, c.HealableTagKey): c.HealableTagValue}}
}

// TagConditionKey is the condition key of a resource tag for service.
func TagConditionKey(service, tagKey string) string {
	switch service {
	case "ssm":
		return "ssm:resourceTag/" + tagKey
	case "autoscaling":
		return "autoscaling:ResourceTag/" + tagKey
	}
	return "aws:ResourceTag/" + tagKey
}
