package stack

import (
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AddNag applies cdk-nag's AwsSolutions checks to everything under scope;
// an unsuppressed error fails `cdk synth` and the tests.
func AddNag(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Reasons for every finding Medic accepts; tests check each is used.
const (
	reasonDLQ = "This queue IS the dead-letter queue (EventBridge target, SNS subscription and Lambda on-failure " +
		"destination); a DLQ behind it would hide failures. The dead-letters alarm watches its depth."
	reasonSlackRotation = "Slack issues the bot token and signing secret and rotates them in the Slack app settings; " +
		"there is no API a rotation Lambda could call. Rotate with put-secret-value (docs/deploy.md)."
	reasonXRay = "X-Ray (xray:PutTraceSegments, xray:PutTelemetryRecords) and ec2:DescribeInstances (ingest's " +
		"Prometheus instance lookup, a read) support no resource-level permissions."
	reasonSFNGlobal = "Resource * only for actions without resource-level permissions: CloudWatch Logs delivery " +
		"(logs:CreateLogDelivery and friends, as Step Functions requires), X-Ray, SSM command reads " +
		"(ssm:GetCommandInvocation, ssm:ListCommandInvocations), ssm:CancelCommand (a command is no IAM resource), and " +
		"the read-only Describe/Get/List evidence calls of collect-evidence and elb-heal-targets (reads only)."
	reasonExecutions = "Executions get their names at run time; the wildcard covers only executions of this stack's own " +
		"state machines."
	reasonInstances = "Target instances come from each alert at run time. Every statement on instance/* carries the " +
		"healable tag condition (ssm:resourceTag for SendCommand, aws:ResourceTag for EC2), and SendCommand is also " +
		"limited to the listed SSM documents."
	reasonDatastore = "The datastore (st2kv) is every parameter below one path, kvPrefix, whose keys rules name at run " +
		"time; the wildcard covers that path only, and only reads (GetParameter, GetParametersByPath)."
	reasonGroups = "Auto Scaling groups come from each alert at run time; the statement carries the healable tag " +
		"condition (autoscaling:ResourceTag), so only groups with that tag."
	reasonTagged = "The resource comes from each alert at run time; the statement carries the healable tag condition " +
		"(aws:ResourceTag), so only resources with that tag."
	reasonEvidence = "Read-only evidence calls on resources named by the alert at run time, limited to one resource " +
		"type of this account (alarms, API Gateway stages)."
	reasonKMS = "EBS volumes may use any customer managed key of the account; the grant is only through EC2 " +
		"(kms:ViaService ec2.<region>) and, for CreateGrant, only for an AWS resource (kms:GrantIsForAWSResource). " +
		"Without it, starting an instance with such volumes fails and leaves it stopped."
	reasonErrorLogging = "State machines log at level ERROR without execution data by default: inputs and outputs carry " +
		"request headers, datastore values and command output. Context logExecutionData=true logs ALL with data."
	// UnsafeFinding is the error every role acting on untagged targets
	// gets with medicUnsafeAllInstances; cdk-nag's IAM5 on instance/*
	// stays unsuppressed too, so the nag report shows an error.
	UnsafeFinding = "medicUnsafeAllInstances: this workflow may act on EVERY instance or Auto Scaling group in the account " +
		"(no healable tag condition). Deploying needs --ignore-errors; set healableTagKey/healableTagValue instead."
)

func suppress(scope constructs.IConstruct, id, reason string, appliesTo ...any) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		s.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(scope, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

func regexFinding(pattern string) any {
	return &cdknag.RegexAppliesTo{Regex: jsii.String("/" + pattern + "/")}
}

// addNagSuppressions records, with its reason, every finding Medic accepts,
// each narrowed to the exact resource or wildcard it is about.
func (m *Medic) addNagSuppressions() {
	suppress(m.DeadLetters, "AwsSolutions-SQS3", reasonDLQ)
	for _, key := range slackSecretKeys {
		suppress(m.SlackSecrets[key], "AwsSolutions-SMG4", reasonSlackRotation)
	}
	executions := regexFinding(`^Resource::arn:.+:states:.+:execution:` + regexp.QuoteMeta(*m.StackName()) + `-[A-Za-z0-9_-]+:\*$`)
	for _, f := range m.plan.Functions {
		role := m.roles[f.Name]
		suppress(role, "AwsSolutions-IAM5", reasonXRay, "Resource::*")
		if f.uses(UseExecutions) {
			suppress(role, "AwsSolutions-IAM5", reasonExecutions, executions)
		}
		if f.uses(UseDatastore) {
			suppress(role, "AwsSolutions-IAM5", reasonDatastore, regexFinding(
				`^Resource::arn:.+:ssm:.+:parameter`+regexp.QuoteMeta(m.plan.Config.KVPrefix)+`/\*$`))
		}
	}
	instances := regexFinding(`^Resource::arn:.+:ec2:.+:instance/\*$`)
	groups := regexFinding(`^Resource::arn:.+:autoscaling:.+:autoScalingGroup:\*:autoScalingGroupName/\*$`)
	keys := regexFinding(`^Resource::arn:.+:kms:.+:key/\*$`)
	tagged := m.plan.Config.HealableTagKey != ""
	for _, w := range m.plan.Workflows {
		role := m.StateMachines[w.Name].Role()
		suppress(role, "AwsSolutions-IAM5", reasonSFNGlobal, "Resource::*")
		if !m.plan.Config.LogExecutionData {
			suppress(m.StateMachines[w.Name], "AwsSolutions-SF1", reasonErrorLogging)
		}
		if w.Access.EncryptedVolumes {
			suppress(role, "AwsSolutions-IAM5", reasonKMS, keys)
		}
		m.suppressPatterns(role, w.Access.OnPatterns, tagged)
		if !w.Access.ActsOnTargets() {
			continue
		}
		if !tagged {
			// No suppression may claim a tag the template does not enforce.
			awscdk.Annotations_Of(role).AddError(jsii.String(UnsafeFinding))
			continue
		}
		if len(w.Access.InstanceActions) > 0 {
			suppress(role, "AwsSolutions-IAM5", reasonInstances, instances)
		}
		if len(w.Access.GroupActions) > 0 {
			suppress(role, "AwsSolutions-IAM5", reasonGroups, groups)
		}
	}
}

// suppressPatterns accepts IAM5 on each wildcard pattern of a workflow
// role: tagged ones only when the tag condition is in the template.
func (m *Medic) suppressPatterns(role constructs.IConstruct, patterns []PatternActions, tagged bool) {
	for _, p := range patterns {
		finding := regexFinding(`^Resource::arn:.+:` + regexp.QuoteMeta(p.On.Service) + `:.+:` + regexp.QuoteMeta(p.On.Resource) + `$`)
		switch {
		case !p.On.Tagged:
			suppress(role, "AwsSolutions-IAM5", reasonEvidence, finding)
		case tagged:
			suppress(role, "AwsSolutions-IAM5", reasonTagged, finding)
		}
	}
}
