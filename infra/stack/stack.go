// Package stack is Medic's CDK stack: the alarm sources, the Lambdas from
// the function table, one Step Functions state machine per file in
// statemachines/, the alert-state table, the Slack secrets, the Scheduler
// schedules of timer rules and of the consolidation flush, the execution
// status events, and the alarms and dashboard that watch Medic itself. Every role is derived from what
// its code or definition uses.
package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/medic-sre/medic/internal/metrics"
)

// Props configure New.
type Props struct {
	awscdk.StackProps
	AssetRoot string // the repository root: build/<fn>/ and statemachines/ live under it
	Config    Config
}

// Names fixed by the stack, documented in docs/deploy.md.
const (
	MetricsNamespace  = metrics.Namespace
	PartitionKey      = "pk"
	SortKey           = "sk"
	TTLAttribute      = "expires_at"
	PacksDirInLambda  = "/var/task/packs" // Lambda unpacks the asset into /var/task
	AlarmDetailType   = "CloudWatch Alarm State Change"
	maxStateMachineNm = 80
)

// Medic holds the constructs other parts of the stack wire together.
type Medic struct {
	awscdk.Stack
	plan          *Plan
	Table         awsdynamodb.Table
	DeadLetters   awssqs.Queue
	AlarmTopic    awssns.Topic
	OpsTopic      awssns.Topic
	SlackSecrets  map[string]awssecretsmanager.Secret // "bot-token", "signing-secret"
	Functions     map[string]awslambda.Function
	StateMachines map[string]awsstepfunctions.StateMachine
	roles         map[string]awsiam.Role // function name → its role
	schedulerRole awsiam.Role            // nil when no function receives schedules
}

// New checks the plan, then builds the stack. Nothing is created when the
// plan is wrong (missing binary, unknown placeholder, ungranted Task).
func New(scope constructs.Construct, id string, props Props) (*Medic, error) {
	if err := props.Config.Validate(); err != nil {
		return nil, err
	}
	if id != props.Config.StackName {
		return nil, fmt.Errorf("stack id %q differs from context stackName %q: fixed names and filters use stackName", id, props.Config.StackName)
	}
	plan, err := NewPlan(props.AssetRoot, props.Config)
	if err != nil {
		return nil, err
	}
	for _, w := range plan.Workflows {
		if n := len(id) + 1 + len(w.Name); n > maxStateMachineNm {
			return nil, fmt.Errorf("%s: state machine name %s-%s is %d characters, Step Functions allows %d", w.File, id, w.Name, n, maxStateMachineNm)
		}
	}
	m := &Medic{
		Stack:         awscdk.NewStack(scope, jsii.String(id), &props.StackProps),
		plan:          plan,
		SlackSecrets:  map[string]awssecretsmanager.Secret{},
		Functions:     map[string]awslambda.Function{},
		StateMachines: map[string]awsstepfunctions.StateMachine{},
		roles:         map[string]awsiam.Role{},
	}
	m.addStorage()
	m.addTopics()
	for _, f := range plan.Functions {
		m.addFunction(f)
	}
	for _, w := range plan.Workflows {
		m.addStateMachine(w)
	}
	m.addAlarmSources()
	m.addExecutionStatusSource()
	m.addSchedules()
	m.addMonitoring()
	m.addNagSuppressions()
	return m, nil
}

// Plan returns what New decided to build.
func (m *Medic) Plan() *Plan { return m.plan }

func (m *Medic) name(suffix string) string { return *m.StackName() + "-" + suffix }

func (m *Medic) removal() awscdk.RemovalPolicy {
	if m.plan.Config.RetainData {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// addStorage: the alert-state table, the shared dead-letter queue and the
// Slack secrets.
func (m *Medic) addStorage() {
	m.Table = awsdynamodb.NewTable(m.Stack, jsii.String("AlertState"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String(SortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: m.removal(),
	})
	awscdk.NewCfnOutput(m.Stack, jsii.String("AlertStateTableName"), &awscdk.CfnOutputProps{
		Value: m.Table.TableName(), Description: jsii.String("Medic's alert-state table (pk, sk, TTL expires_at)"),
	})
	m.DeadLetters = awssqs.NewQueue(m.Stack, jsii.String("DeadLetters"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	awscdk.NewCfnOutput(m.Stack, jsii.String("DeadLettersUrl"), &awscdk.CfnOutputProps{
		Value: m.DeadLetters.QueueUrl(), Description: jsii.String("Alerts and invocations Medic could not process"),
	})
	// No SecretName: CloudFormation generates a unique one, so a secret
	// retained by an earlier `cdk destroy` never blocks the next deploy,
	// and two stacks in one account never collide. The outputs name them.
	for _, key := range slackSecretKeys {
		secret := awssecretsmanager.NewSecret(m.Stack, jsii.String("Slack-"+key), &awssecretsmanager.SecretProps{
			Description:          jsii.String(*m.StackName() + " Slack " + key + ": replace the generated placeholder with put-secret-value"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{ExcludePunctuation: jsii.Bool(true)},
			RemovalPolicy:        m.removal(),
		})
		m.SlackSecrets[key] = secret
		awscdk.NewCfnOutput(m.Stack, jsii.String(slackSecretOutput[key]), &awscdk.CfnOutputProps{
			Value:       secret.SecretArn(),
			Description: jsii.String("aws secretsmanager put-secret-value --secret-id <this> for the Slack " + key),
		})
	}
}

// slackSecretKeys name the two Slack secrets, in a fixed order.
var slackSecretKeys = []string{"bot-token", "signing-secret"}

// slackSecretOutput names the stack output carrying each secret's ARN.
var slackSecretOutput = map[string]string{"bot-token": "SlackBotTokenSecretArn", "signing-secret": "SlackSigningSecretArn"}

// addTopics: the topic alarm actions publish to (read by ingest) and the
// one Medic's own alarms notify (read by people, never by ingest, so a
// broken Medic cannot feed itself).
func (m *Medic) addTopics() {
	m.AlarmTopic = awssns.NewTopic(m.Stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Medic alarm intake"),
		EnforceSSL:  jsii.Bool(true),
	})
	m.onlyAlarmsPublish(m.AlarmTopic, m.alarmArns(m.plan.Config.AlarmNamePrefixes))
	m.OpsTopic = awssns.NewTopic(m.Stack, jsii.String("OpsTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Medic health"),
		EnforceSSL:  jsii.Bool(true),
	})
	// Medic's own alarms (named <stack>-…) notify the ops topic.
	m.onlyAlarmsPublish(m.OpsTopic, m.alarmArns([]string{*m.StackName() + "-"}))
	awscdk.NewCfnOutput(m.Stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value:       m.AlarmTopic.TopicArn(),
		Description: jsii.String("Add this topic to a CloudWatch alarm's actions to send it to Medic"),
	})
}

// onlyAlarmsPublish lets CloudWatch publish to topic for the given alarms
// of this account, and denies sns:Publish to everyone else: an IAM
// principal of the account with sns:Publish in its own policy could
// otherwise post forged alarms. (The deny has no aws:SourceArn to match
// for a direct Publish, so ArnNotLike holds and it applies.)
func (m *Medic) onlyAlarmsPublish(topic awssns.Topic, alarms []*string) {
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": m.Account()},
			"ArnLike":      map[string]any{"aws:SourceArn": alarms},
		},
	}))
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyThoseAlarmsPublish"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{"ArnNotLike": map[string]any{"aws:SourceArn": alarms}},
	}))
}

// alarmArns are the ARN patterns of this account's alarms whose names
// start with one of prefixes ("*": every alarm).
func (m *Medic) alarmArns(prefixes []string) []*string {
	var out []*string
	for _, p := range prefixes {
		if p == AllAlarms {
			p = ""
		}
		out = append(out, m.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
			ResourceName: jsii.String(p + "*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
	}
	return out
}

// stateMachineArn is built from the fixed name rather than referenced, so
// functions and state machines can point at each other without a cycle.
func (m *Medic) stateMachineArn(workflow string) *string {
	return m.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(m.name(workflow)), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

func (m *Medic) executionArns(workflow string) *string {
	return m.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(m.name(workflow) + ":*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}
