package stack

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// Actions granted per capability. Kept as data so the tests and the docs
// can show them.
var (
	// What internal/state/dynamo calls: every write is a conditional
	// UpdateItem. Its CreateTable/UpdateTimeToLive are for tests; the
	// stack owns the table.
	TableActions = []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
	StartActions = []string{"states:StartExecution"}
	// What chatops calls (functions/chatops/aws-calls.txt): no heartbeat,
	// no StopExecution, which no Medic code calls.
	StateMachineActions = []string{"states:ListExecutions", "states:SendTaskSuccess", "states:SendTaskFailure"}
	ExecutionActions    = []string{"states:DescribeExecution", "states:GetExecutionHistory"}
	SecretActions       = []string{"secretsmanager:GetSecretValue"}
	// What st2kv reads in rules need (internal/awskv Get and List). No
	// kms:Decrypt: the AWS managed key aws/ssm already lets every principal
	// of the account decrypt through Parameter Store; a customer managed
	// key would need its own grant (docs/deploy.md).
	DatastoreActions = []string{"ssm:GetParameter", "ssm:GetParametersByPath"}
	// InstanceLookupActions resolve a Prometheus instance (host:port) to
	// its EC2 instance id (internal/target); a read without resource-level
	// permissions.
	InstanceLookupActions = []string{"ec2:DescribeInstances"}
)

// Environment variables holding the Slack secrets' ARNs (Secrets Manager).
const (
	EnvSlackBotTokenSecret      = "MEDIC_SLACK_BOT_TOKEN_SECRET"
	EnvSlackSigningSecretSecret = "MEDIC_SLACK_SIGNING_SECRET_SECRET"
)

// slackSecretEnv maps each Slack secret to the variable carrying its ARN.
var slackSecretEnv = map[string]string{"bot-token": EnvSlackBotTokenSecret, "signing-secret": EnvSlackSigningSecretSecret}

// addFunction creates one Lambda from its prebuilt asset with its own role
// and log group, then wires what its Uses ask for.
func (m *Medic) addFunction(f FunctionSpec) {
	id := pascal(f.Name) + "Function"
	logs := awslogs.NewLogGroup(m.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[m.plan.Config.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// Our own role: the default one attaches the AWSLambdaBasicExecutionRole
	// managed policy, which may write to every log group.
	role := awsiam.NewRole(m.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Medic " + f.Name + " function"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	props := &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Code:         awslambda.Code_FromAsset(jsii.String(BuildDir(m.plan.AssetRoot, f.Name)), nil),
		Handler:      jsii.String("bootstrap"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		MemorySize:   jsii.Number(f.MemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(f.TimeoutSecs)),
		// Reserved concurrency: a storm is throttled here (async events wait
		// and retry for up to MaxEventAge) instead of starving the account.
		ReservedConcurrentExecutions: jsii.Number(f.ReservedConcurrency),
		Tracing:                      awslambda.Tracing_ACTIVE,
		Role:                         role,
		LogGroup:                     logs,
		Environment:                  m.environment(f),
	}
	if f.invokedAsync() {
		// EventBridge, SNS, Scheduler and self-dispatched jobs invoke
		// asynchronously: after Lambda's own retries, a failed event lands
		// in the DLQ.
		props.OnFailure = awslambdadestinations.NewSqsDestination(m.DeadLetters)
		props.RetryAttempts = jsii.Number(2)
		props.MaxEventAge = awscdk.Duration_Hours(jsii.Number(6))
	}
	fn := awslambda.NewFunction(m.Stack, jsii.String(id), props)
	m.Functions[f.Name] = fn
	m.roles[f.Name] = role
	m.grantUses(f, role)
	if f.uses(UseSelfInvoke) {
		// A separate policy: the function waits for its role's default
		// policy, so naming its own ARN there would be a dependency cycle.
		awsiam.NewPolicy(m.Stack, jsii.String(id+"SelfInvoke"), &awsiam.PolicyProps{
			Roles: &[]awsiam.IRole{role},
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{fn.FunctionArn()},
			})},
		})
	}
	if f.invokedBy(FromURL) {
		url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE})
		awscdk.NewCfnOutput(m.Stack, jsii.String(id+"Url"), &awscdk.CfnOutputProps{
			Value:       url.Url(),
			Description: jsii.String("Slack request URL of the " + f.Name + " function (slash commands, interactivity)"),
		})
	}
}

// environment is the function's configuration, one group per Use.
func (m *Medic) environment(f FunctionSpec) *map[string]*string {
	env := map[string]*string{"MEDIC_METRICS_NAMESPACE": jsii.String(MetricsNamespace)}
	if f.uses(UsePacks) {
		env["MEDIC_PACKS_DIR"] = jsii.String(PacksDirInLambda)
	}
	if f.uses(UseWorkflows) {
		arns := map[string]any{}
		for _, w := range m.plan.Workflows {
			arns[w.Name] = m.stateMachineArn(w.Name)
		}
		env["MEDIC_STATE_MACHINES"] = m.ToJsonString(arns, nil)
		env["MEDIC_POLL_SECONDS"] = jsii.String(strconv.Itoa(m.plan.Config.PollSeconds))
	}
	if f.uses(UseChatopsConfig) {
		env["MEDIC_CHATOPS_CONFIG"] = jsii.String("/var/task/" + ChatopsConfigPath)
	}
	if f.uses(UseTable) {
		env["MEDIC_TABLE_NAME"] = m.Table.TableName()
	}
	if f.uses(UseDatastore) {
		env["MEDIC_KV_PREFIX"] = jsii.String(m.plan.Config.KVPrefix)
	}
	if f.uses(UseSlack) {
		env["MEDIC_SLACK_CHANNEL"] = jsii.String(m.plan.Config.SlackChannel)
		for _, key := range slackSecretKeys {
			env[slackSecretEnv[key]] = m.SlackSecrets[key].SecretArn()
		}
	}
	return &env
}

func (m *Medic) grantUses(f FunctionSpec, role awsiam.Role) {
	allow := func(actions []string, resources ...*string) {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(actions...), Resources: &resources,
		}))
	}
	var machines, executions []*string
	for _, w := range m.plan.Workflows {
		machines = append(machines, m.stateMachineArn(w.Name))
		executions = append(executions, m.executionArns(w.Name))
	}
	if f.uses(UseWorkflows) {
		allow(StartActions, machines...)
	}
	if f.uses(UseExecutions) {
		allow(StateMachineActions, machines...)
		allow(ExecutionActions, executions...)
	}
	if f.uses(UseTable) {
		allow(TableActions, m.Table.TableArn())
	}
	if f.uses(UseSlack) {
		var secrets []*string
		for _, key := range slackSecretKeys {
			secrets = append(secrets, m.SlackSecrets[key].SecretArn())
		}
		allow(SecretActions, secrets...)
	}
	if f.uses(UseInstanceLookup) {
		allow(InstanceLookupActions, jsii.String("*")) // Describe* has no resource-level permissions
	}
	if f.uses(UseDatastore) {
		allow(DatastoreActions, m.parameterArn(m.plan.Config.KVPrefix), m.parameterArn(m.plan.Config.KVPrefix+"/*"))
	}
}

// parameterArn names a Parameter Store path: /medic/kv → …:parameter/medic/kv.
func (m *Medic) parameterArn(path string) *string {
	return m.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ssm"), Resource: jsii.String("parameter"),
		ResourceName: jsii.String(path[1:]), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}
