package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/medic-sre/medic/infra/workflows"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/timer"
)

// fullConfig turns on everything optional.
func fullConfig() Config {
	c := testConfig()
	c.AlarmNamePrefixes = []string{"heal-", "ops/"}
	c.SSMDocuments = []string{"AWS-RunShellScript", "Medic-FreeDisk"}
	c.OpsEmail = "ops@example.com"
	c.LogRetentionDays = 14
	c.KVPrefix = "/ops/medic-kv"
	return c
}

var (
	fullOnce sync.Once
	full     *synthed
)

// fullStack is every function deployed with fullConfig, synthesized once
// and shared: synthesis is the slow part of these tests.
func fullStack(t *testing.T) *synthed {
	fullOnce.Do(func() {
		root := fixtureAt(t, filepath.Join(sharedDir, "root"), allFunctions...)
		addPack(t, root, "ingest", "timers", timerPack)
		full = synthAt(t, root, filepath.Join(sharedDir, "cdk.out"), fullConfig())
	})
	if full == nil {
		t.Fatal("the shared stack failed to synthesize (see the first failing test)")
	}
	return full
}

const (
	partition = "arn:{AWS::Partition}:"
	regionAcc = "{AWS::Region}:{AWS::AccountId}:"
)

// planned lists the workflows the stack was built from.
func planned(s *synthed) []workflows.Workflow {
	var out []workflows.Workflow
	for _, w := range s.medic.Plan().Workflows {
		out = append(out, w.Workflow)
	}
	return out
}

func stateMachineArn(name string) string {
	return partition + "states:" + regionAcc + "stateMachine:Medic-" + name
}

func TestNagReportsNoUnsuppressedErrors(t *testing.T) {
	s := fullStack(t)
	msgs := assertions.Annotations_FromStack(s.medic.Stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, msg := range *msgs {
		t.Errorf("cdk-nag: %s: %v", *msg.Id, msg.Entry.Data)
	}
	// Every suppression carries its reason.
	var suppressions int
	for id, r := range s.doc["Resources"].(map[string]any) {
		meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range rules {
			suppressions++
			reason, _ := rule.(map[string]any)["reason"].(string)
			if len(reason) < 40 {
				t.Errorf("%s: suppression %v has no real reason", id, rule)
			}
		}
	}
	if suppressions == 0 {
		t.Error("no cdk-nag suppressions found: is the metadata missing?")
	}
}

func TestFunctionsRunPrebuiltArm64Binaries(t *testing.T) {
	s := fullStack(t)
	check(t, "every function", func() {
		s.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(Functions))))
	})
	for _, f := range Functions {
		id := s.logicalID(t, "AWS::Lambda::Function", pascal(f.Name)+"Function")
		p := s.props(id)
		want := map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": float64(f.MemoryMB),
			"Timeout": float64(f.TimeoutSecs)}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s %s = %v, want %v", f.Name, k, p[k], v)
			}
		}
		if got := render(p["Architectures"]); got != `["arm64"]` {
			t.Errorf("%s Architectures = %s", f.Name, got)
		}
		if got := render(p["TracingConfig"]); got != `{"Mode":"Active"}` {
			t.Errorf("%s TracingConfig = %s", f.Name, got)
		}
		logs := s.logicalID(t, "AWS::Logs::LogGroup", pascal(f.Name)+"FunctionLogs")
		if got := render(p["LoggingConfig"].(map[string]any)["LogGroup"]); got != "{"+logs+"}" {
			t.Errorf("%s logs to %s, want its own group %s", f.Name, got, logs)
		}
		if got := s.props(logs)["RetentionInDays"]; got != float64(14) {
			t.Errorf("%s log retention = %v, want 14 (logRetentionDays)", f.Name, got)
		}
		role := s.props(s.logicalID(t, "AWS::IAM::Role", pascal(f.Name)+"FunctionRole"))
		if mp, ok := role["ManagedPolicyArns"]; ok {
			t.Errorf("%s role has managed policies %v; least privilege wants inline statements only", f.Name, mp)
		}
	}
}

func TestFunctionEnvironment(t *testing.T) {
	s := fullStack(t)
	slack := []string{"MEDIC_SLACK_BOT_TOKEN_SECRET", "MEDIC_SLACK_CHANNEL", "MEDIC_SLACK_SIGNING_SECRET_SECRET"}
	wantKeys := map[string][]string{
		"ingest": {"MEDIC_METRICS_NAMESPACE", "MEDIC_PACKS_DIR", "MEDIC_POLL_SECONDS", "MEDIC_STATE_MACHINES", "MEDIC_TABLE_NAME",
			"MEDIC_KV_PREFIX"},
		"chatops": append([]string{"MEDIC_METRICS_NAMESPACE", "MEDIC_PACKS_DIR", "MEDIC_POLL_SECONDS", "MEDIC_STATE_MACHINES",
			"MEDIC_TABLE_NAME", "MEDIC_CHATOPS_CONFIG"}, slack...),
		"http":   {"MEDIC_METRICS_NAMESPACE"},
		"notify": append([]string{"MEDIC_METRICS_NAMESPACE", "MEDIC_TABLE_NAME"}, slack...),
	}
	table := "{" + s.logicalID(t, "AWS::DynamoDB::Table", "AlertState") + "}"
	machines := map[string]string{}
	for _, w := range planned(s) {
		machines[w.Name] = stateMachineArn(w.Name)
	}
	for name, keys := range wantKeys {
		env := s.props(s.logicalID(t, "AWS::Lambda::Function", pascal(name)+"Function"))["Environment"].(map[string]any)["Variables"].(map[string]any)
		var got []string
		for k := range env {
			got = append(got, k)
		}
		sort.Strings(got)
		sort.Strings(keys)
		if !reflect.DeepEqual(got, keys) {
			t.Errorf("%s env keys = %v, want %v", name, got, keys)
		}
		want := map[string]string{
			"MEDIC_METRICS_NAMESPACE":           "Medic",
			"MEDIC_PACKS_DIR":                   "/var/task/packs",
			"MEDIC_POLL_SECONDS":                "5",
			"MEDIC_TABLE_NAME":                  table,
			"MEDIC_SLACK_CHANNEL":               "#medic",
			"MEDIC_CHATOPS_CONFIG":              "/var/task/config/chatops.yaml",
			"MEDIC_SLACK_BOT_TOKEN_SECRET":      "{" + s.logicalID(t, "AWS::SecretsManager::Secret", "Slackbottoken") + "}",
			"MEDIC_SLACK_SIGNING_SECRET_SECRET": "{" + s.logicalID(t, "AWS::SecretsManager::Secret", "Slacksigningsecret") + "}",
			"MEDIC_KV_PREFIX":                   "/ops/medic-kv",
		}
		for k, v := range want {
			if got, ok := env[k]; ok && render(got) != v {
				t.Errorf("%s %s = %s, want %s", name, k, render(got), v)
			}
		}
		if raw, ok := env["MEDIC_STATE_MACHINES"]; ok {
			var got map[string]string
			if err := json.Unmarshal([]byte(render(raw)), &got); err != nil {
				t.Fatalf("%s MEDIC_STATE_MACHINES is not a JSON object: %v (%s)", name, err, render(raw))
			}
			if !reflect.DeepEqual(got, machines) {
				t.Errorf("%s MEDIC_STATE_MACHINES = %v, want %v", name, got, machines)
			}
		}
	}
}

func TestPacksShipInsideFunctionAssets(t *testing.T) {
	s := fullStack(t)
	for _, f := range Functions {
		res := s.doc["Resources"].(map[string]any)[s.logicalID(t, "AWS::Lambda::Function", pascal(f.Name)+"Function")].(map[string]any)
		asset, _ := res["Metadata"].(map[string]any)["aws:asset:path"].(string)
		if asset == "" {
			t.Fatalf("%s: no aws:asset:path metadata", f.Name)
		}
		if key := render(res["Properties"].(map[string]any)["Code"].(map[string]any)["S3Key"]); !strings.HasSuffix(key, ".zip") {
			t.Errorf("%s code S3Key = %s, want a zipped asset", f.Name, key)
		}
		staged := filepath.Join(s.outdir, asset)
		if _, err := os.Stat(filepath.Join(staged, "bootstrap")); err != nil {
			t.Errorf("%s: bootstrap not in the asset: %v", f.Name, err)
		}
		_, err := os.Stat(filepath.Join(staged, "packs", "linux", "pack.yaml"))
		if f.uses(UsePacks) && err != nil {
			t.Errorf("%s: packs not in the asset: %v", f.Name, err)
		}
	}
}

func TestStateMachinesFromEveryDefinition(t *testing.T) {
	s := fullStack(t)
	ws := planned(s)
	files, _ := filepath.Glob(filepath.Join(repoRoot, "statemachines", "*.asl.json"))
	if len(ws) != len(files) || len(files) == 0 {
		t.Errorf("planned %d workflows from %d files", len(ws), len(files))
	}
	for _, name := range []string{"ask-approval", "http-request"} {
		if _, err := os.Stat(filepath.Join(repoRoot, "statemachines", name+".asl.json")); err != nil {
			t.Errorf("%s is not deployed like the others: %v", name, err)
		}
	}
	check(t, "one state machine per file", func() {
		s.tpl.ResourceCountIs(jsii.String("AWS::StepFunctions::StateMachine"), jsii.Number(float64(len(ws))))
	})
	for _, w := range ws {
		id := s.logicalID(t, "AWS::StepFunctions::StateMachine", pascal(w.Name)+"StateMachine")
		p := s.props(id)
		if p["StateMachineName"] != "Medic-"+w.Name || p["StateMachineType"] != "STANDARD" {
			t.Errorf("%s: name %v type %v", w.Name, p["StateMachineName"], p["StateMachineType"])
		}
		if got := render(p["TracingConfiguration"]); got != `{"Enabled":true}` {
			t.Errorf("%s: TracingConfiguration = %s", w.Name, got)
		}
		logs := s.logicalID(t, "AWS::Logs::LogGroup", pascal(w.Name)+"StateMachineLogs")
		wantLogging := `{"Destinations":[{"CloudWatchLogsLogGroup":{"LogGroupArn":{"Fn::GetAtt":["` + logs + `","Arn"]}}}],"IncludeExecutionData":false,"Level":"ERROR"}`
		if got := render(p["LoggingConfiguration"]); got != wantLogging {
			t.Errorf("%s: LoggingConfiguration = %s\nwant %s", w.Name, got, wantLogging)
		}
		if got := s.props(logs)["LogGroupName"]; got != "/aws/vendedlogs/states/Medic-"+w.Name {
			t.Errorf("%s: log group %v", w.Name, got)
		}
		// Inlined as is, so the definition in the template is the file,
		// plus the execution timeout.
		var inTemplate, inFile map[string]any
		def, _ := p["DefinitionString"].(string)
		if err := json.Unmarshal([]byte(def), &inTemplate); err != nil {
			t.Fatalf("%s: DefinitionString is not inlined JSON: %v", w.Name, err)
		}
		json.Unmarshal([]byte(w.Definition), &inFile)
		if inTemplate["TimeoutSeconds"] != float64(ExecutionTimeouts[w.Name]) {
			t.Errorf("%s: TimeoutSeconds %v, want %d", w.Name, inTemplate["TimeoutSeconds"], ExecutionTimeouts[w.Name])
		}
		delete(inTemplate, "TimeoutSeconds")
		if !reflect.DeepEqual(inTemplate, inFile) {
			t.Errorf("%s: DefinitionString differs from %s", w.Name, w.File)
		}
		subs, _ := p["DefinitionSubstitutions"].(map[string]any)
		if len(subs) != len(w.Placeholders) {
			t.Errorf("%s: substitutions %v, want one per placeholder %v", w.Name, subs, w.Placeholders)
		}
		for _, ph := range w.Placeholders {
			if ph == "NotifyFunctionArn" {
				want := "{" + s.logicalID(t, "AWS::Lambda::Function", "NotifyFunction") + ".Arn}"
				if got := render(subs[ph]); got != want {
					t.Errorf("%s: ${NotifyFunctionArn} → %s, want %s", w.Name, got, want)
				}
			}
		}
	}
	// The states themselves, through CDK's matcher.
	check(t, "diagnose-remediate-verify states", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]any{
			"StateMachineName": "Medic-diagnose-remediate-verify",
			"DefinitionString": assertions.Match_SerializedJson(assertions.Match_ObjectLike(&map[string]any{
				"StartAt": "Diagnose",
				"States": assertions.Match_ObjectLike(&map[string]any{
					"Diagnose": assertions.Match_ObjectLike(&map[string]any{
						"Resource":   "arn:aws:states:::aws-sdk:ssm:sendCommand",
						"Parameters": assertions.Match_ObjectLike(&map[string]any{"DocumentName": "AWS-RunShellScript"}),
					}),
					"Escalate": assertions.Match_ObjectLike(&map[string]any{
						"Resource":   "arn:aws:states:::lambda:invoke",
						"Parameters": assertions.Match_ObjectLike(&map[string]any{"FunctionName": "${NotifyFunctionArn}"}),
					}),
					"Healed": map[string]any{"Type": "Succeed", "Comment": "Verification passed."},
				}),
			})),
		})
	})
}

// sfnServiceActions are what Step Functions itself needs for logging and
// tracing (CDK adds them); everything else must come from the definition.
var sfnServiceActions = map[string]bool{
	"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
	"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
	"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
	"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "xray:GetSamplingRules": true, "xray:GetSamplingTargets": true,
}

func TestStateMachineRolesGrantOnlyWhatTheDefinitionUses(t *testing.T) {
	s := fullStack(t)
	notify := "{" + s.logicalID(t, "AWS::Lambda::Function", "NotifyFunction") + ".Arn}"
	document := partition + "ssm:{AWS::Region}::document/AWS-RunShellScript"
	instances := partition + "ec2:" + regionAcc + "instance/*"
	groups := partition + "autoscaling:" + regionAcc + "autoScalingGroup:*:autoScalingGroupName/*"
	conditions := map[string]string{
		instances: `{"StringEquals":{"%s/medic:healable":"true"}}`,
		groups:    `{"StringEquals":{"autoscaling:ResourceTag/medic:healable":"true"}}`,
	}
	// The walking skeleton's workflow, exactly.
	want := map[string][]string{"diagnose-remediate-verify": {
		"lambda:InvokeFunction on " + notify, "ssm:GetCommandInvocation on *",
		"ssm:SendCommand on " + document, "ssm:SendCommand on " + instances,
	}}
	for _, w := range planned(s) {
		sm := s.props(s.logicalID(t, "AWS::StepFunctions::StateMachine", pascal(w.Name)+"StateMachine"))
		role := strings.TrimSuffix(strings.TrimPrefix(render(sm["RoleArn"]), "{"), ".Arn}")
		var own []statement
		for _, st := range s.statements(role) {
			if st.Effect != "Allow" {
				t.Errorf("%s: unexpected %s statement %+v", w.Name, st.Effect, st)
			}
			if !sfnServiceActions[st.Actions[0]] {
				own = append(own, st)
			}
			for _, r := range st.Resources {
				cond, scoped := conditions[r]
				if scoped && r == instances {
					service := "aws:ResourceTag"
					if strings.HasPrefix(st.Actions[0], "ssm:") {
						service = "ssm:resourceTag"
					}
					cond = strings.Replace(cond, "%s", service, 1)
				}
				if scoped && st.Condition != cond {
					t.Errorf("%s: %v on %s without the healable tag condition (got %q)", w.Name, st.Actions, r, st.Condition)
				}
			}
		}
		for _, pair := range allowed(own) {
			action, resource, _ := strings.Cut(pair, " on ")
			ok := false
			switch {
			case action == "lambda:InvokeFunction":
				// only functions whose placeholders the definition uses
				for _, f := range Functions {
					for _, ph := range f.Placeholders() {
						if contains(w.Placeholders, ph) && resource == "{"+s.logicalID(t, "AWS::Lambda::Function", pascal(f.Name)+"Function")+".Arn}" {
							ok = true
						}
					}
				}
			case resource == "*":
				ok = grantedOnAnyResource(action)
			case action == "ssm:SendCommand":
				ok = resource == document || resource == instances
			case action == "kms:CreateGrant" || action == "kms:Decrypt":
				ok = resource == partition+"kms:"+regionAcc+"key/*" && contains(definitionActions(t, w.Definition), "ec2:StartInstances")
			case action == "apigateway:GET":
				ok = strings.HasPrefix(resource, "arn:{AWS::Partition}:apigateway:{AWS::Region}::/") // the one read verb
			case packResources[action] != "":
				ok = resource == packResources[action]
			default:
				ok = resource == instances || resource == groups
			}
			if !ok {
				t.Errorf("%s: %s is not what its definition needs", w.Name, pair)
			}
		}
		if pairs, exact := want[w.Name]; exact {
			sort.Strings(pairs)
			if got := allowed(own); !reflect.DeepEqual(got, pairs) {
				t.Errorf("%s role allows\n  %s\nwant\n  %s", w.Name, strings.Join(got, "\n  "), strings.Join(pairs, "\n  "))
			}
		}
	}
}

// packResources: where the AWS packs' machines may act beyond instances,
// groups and "*", written out apart from sdkAccess.
var packResources = map[string]string{
	"cloudwatch:DescribeAlarmHistory":        partition + "cloudwatch:" + regionAcc + "alarm:*",
	"rds:ModifyDBInstance":                   partition + "rds:" + regionAcc + "db:*",
	"lambda:PutFunctionConcurrency":          partition + "lambda:" + regionAcc + "function:*",
	"ecs:UpdateService":                      partition + "ecs:" + regionAcc + "service/*/*",
	"elasticloadbalancing:DeregisterTargets": partition + "elasticloadbalancing:" + regionAcc + "targetgroup/*/*",
	"sqs:StartMessageMoveTask":               partition + "sqs:" + regionAcc + "*",
	"sqs:ReceiveMessage":                     partition + "sqs:" + regionAcc + "*",
	"sqs:DeleteMessage":                      partition + "sqs:" + regionAcc + "*",
	"sqs:SendMessage":                        partition + "sqs:" + regionAcc + "*",
	"sqs:GetQueueAttributes":                 partition + "sqs:" + regionAcc + "*", // the redrive's, besides the read on *
}

// The AWS packs' machines (issue 16): exactly the pairs their author
// reported, each fix on tagged resources only, reads on * or their type.
func TestAWSPackMachinesGrantExactlyTheirCalls(t *testing.T) {
	s := fullStack(t)
	fn := func(name string) string { return "{" + s.logicalID(t, "AWS::Lambda::Function", name) + ".Arn}" }
	instances := partition + "ec2:" + regionAcc + "instance/*"
	groups := partition + "autoscaling:" + regionAcc + "autoScalingGroup:*:autoScalingGroupName/*"
	queues := partition + "sqs:" + regionAcc + "*"
	tag := func(key string) string { return `{"StringEquals":{"` + key + `/medic:healable":"true"}}` }
	onAny := func(actions ...string) []string {
		var out []string
		for _, a := range actions {
			out = append(out, a+" on *")
		}
		return out
	}
	want := map[string][]string{
		"collect-evidence": append(onAny("cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms", "rds:DescribeDBInstances",
			"rds:DescribeDBClusters", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeLoadBalancers",
			"lambda:GetFunctionConfiguration", "lambda:GetAccountSettings", "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
			"sqs:ListDeadLetterSourceQueues", "sqs:ListQueueTags", "sns:GetTopicAttributes", "ecs:DescribeServices",
			"dynamodb:DescribeTable", "elasticache:DescribeCacheClusters", "ec2:DescribeInstances", "ec2:DescribeVolumes",
			"autoscaling:DescribeAutoScalingGroups"),
			"cloudwatch:DescribeAlarmHistory on "+packResources["cloudwatch:DescribeAlarmHistory"],
			"apigateway:GET on arn:{AWS::Partition}:apigateway:{AWS::Region}::/restapis",
			"apigateway:GET on arn:{AWS::Partition}:apigateway:{AWS::Region}::/restapis/*/stages/*",
			"apigateway:GET on arn:{AWS::Partition}:apigateway:{AWS::Region}::/apis/*/stages/*",
			"rds:ModifyDBInstance on "+packResources["rds:ModifyDBInstance"],
			"lambda:PutFunctionConcurrency on "+packResources["lambda:PutFunctionConcurrency"],
			"ecs:UpdateService on "+packResources["ecs:UpdateService"],
			"autoscaling:SetDesiredCapacity on "+groups,
			"sqs:StartMessageMoveTask on "+queues, "sqs:ReceiveMessage on "+queues, "sqs:DeleteMessage on "+queues,
			"sqs:GetQueueAttributes on "+queues, "sqs:SendMessage on "+queues,
			"lambda:InvokeFunction on "+fn("NotifyFunction"), "lambda:InvokeFunction on "+fn("ChatopsFunction")),
		"elb-heal-targets": append(onAny("elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
			"autoscaling:DescribeAutoScalingInstances", "ssm:GetCommandInvocation"),
			"ssm:SendCommand on "+partition+"ssm:{AWS::Region}::document/AWS-RunShellScript", "ssm:SendCommand on "+instances,
			"autoscaling:SetInstanceHealth on "+groups,
			"elasticloadbalancing:DeregisterTargets on "+packResources["elasticloadbalancing:DeregisterTargets"],
			"lambda:InvokeFunction on "+fn("NotifyFunction"), "lambda:InvokeFunction on "+fn("ChatopsFunction")),
		"ec2-reboot-then-recover": append(onAny("ec2:DescribeInstanceStatus", "ec2:DescribeInstances"),
			"ec2:RebootInstances on "+instances, "ec2:StopInstances on "+instances, "ec2:StartInstances on "+instances,
			"kms:CreateGrant on "+partition+"kms:"+regionAcc+"key/*", "kms:Decrypt on "+partition+"kms:"+regionAcc+"key/*",
			"lambda:InvokeFunction on "+fn("NotifyFunction")),
	}
	// Which condition each changing statement must carry.
	conditions := map[string]string{
		"rds:ModifyDBInstance": tag("aws:ResourceTag"), "lambda:PutFunctionConcurrency": tag("aws:ResourceTag"),
		"ecs:UpdateService": tag("aws:ResourceTag"), "elasticloadbalancing:DeregisterTargets": tag("aws:ResourceTag"),
		"sqs:StartMessageMoveTask": tag("aws:ResourceTag"), "sqs:ReceiveMessage": tag("aws:ResourceTag"),
		"sqs:DeleteMessage": tag("aws:ResourceTag"), "sqs:SendMessage": tag("aws:ResourceTag"),
		"autoscaling:SetDesiredCapacity": tag("autoscaling:ResourceTag"), "autoscaling:SetInstanceHealth": tag("autoscaling:ResourceTag"),
		"ec2:RebootInstances": tag("aws:ResourceTag"), "ec2:StopInstances": tag("aws:ResourceTag"), "ec2:StartInstances": tag("aws:ResourceTag"),
	}
	for workflow, pairs := range want {
		var own []statement
		for _, st := range s.statements(s.roleOf(t, workflow)) {
			if sfnServiceActions[st.Actions[0]] {
				continue
			}
			own = append(own, st)
			for _, a := range st.Actions {
				cond, changes := conditions[a]
				if a == "ssm:SendCommand" && contains(st.Resources, instances) {
					cond, changes = tag("ssm:resourceTag"), true
				}
				if changes && st.Condition != cond {
					t.Errorf("%s: %s on %v has condition %q, want %s", workflow, a, st.Resources, st.Condition, cond)
				}
			}
		}
		sort.Strings(pairs)
		if got := allowed(own); !reflect.DeepEqual(got, pairs) {
			t.Errorf("%s role allows\n  %s\nwant\n  %s", workflow, strings.Join(got, "\n  "), strings.Join(pairs, "\n  "))
		}
	}
}

func TestFunctionRolesGrantOnlyTheirUses(t *testing.T) {
	s := fullStack(t)
	id := func(typ, prefix string) string { return s.logicalID(t, typ, prefix) }
	table := "{" + id("AWS::DynamoDB::Table", "AlertState") + ".Arn}"
	var tableGrants []string
	for _, a := range TableActions {
		tableGrants = append(tableGrants, a+" on "+table)
	}
	var starts, answers, executions []string
	for _, w := range planned(s) {
		starts = append(starts, "states:StartExecution on "+stateMachineArn(w.Name))
		for _, a := range StateMachineActions {
			answers = append(answers, a+" on "+stateMachineArn(w.Name))
		}
		for _, a := range ExecutionActions {
			executions = append(executions, a+" on "+partition+"states:"+regionAcc+"execution:Medic-"+w.Name+":*")
		}
	}
	logs := func(fn string) []string {
		group := "{" + id("AWS::Logs::LogGroup", pascal(fn)+"FunctionLogs") + ".Arn}"
		return []string{"logs:CreateLogStream on " + group, "logs:PutLogEvents on " + group}
	}
	xray := []string{"xray:PutTelemetryRecords on *", "xray:PutTraceSegments on *"}
	var secrets []string
	for _, key := range slackSecretKeys {
		ref := "{" + id("AWS::SecretsManager::Secret", "Slack"+strings.ReplaceAll(key, "-", "")) + "}"
		secrets = append(secrets, "secretsmanager:GetSecretValue on "+ref)
	}
	kv := partition + "ssm:" + regionAcc + "parameter/ops/medic-kv"
	datastore := []string{"ssm:GetParameter on " + kv, "ssm:GetParameter on " + kv + "/*",
		"ssm:GetParametersByPath on " + kv, "ssm:GetParametersByPath on " + kv + "/*"}
	dlq := "{" + id("AWS::SQS::Queue", "DeadLetters") + ".Arn}"
	want := map[string][]string{
		"ingest": concat(logs("ingest"), xray, starts, tableGrants, datastore, []string{
			"ec2:DescribeInstances on *", // Prometheus instance → instance id
			// CDK's SQS destination grant; Lambda itself only sends.
			"sqs:GetQueueAttributes on " + dlq, "sqs:GetQueueUrl on " + dlq, "sqs:SendMessage on " + dlq}),
		"chatops": concat(logs("chatops"), xray, starts, answers, executions, tableGrants, secrets, []string{
			"lambda:InvokeFunction on {" + id("AWS::Lambda::Function", "ChatopsFunction") + ".Arn}", // background jobs
			"sqs:GetQueueAttributes on " + dlq, "sqs:GetQueueUrl on " + dlq, "sqs:SendMessage on " + dlq}),
		"notify": concat(logs("notify"), xray, tableGrants, secrets),
		"http":   concat(logs("http"), xray),
	}
	for fn, pairs := range want {
		got := allowed(s.statements(id("AWS::IAM::Role", pascal(fn)+"FunctionRole")))
		sort.Strings(pairs)
		if !reflect.DeepEqual(got, pairs) {
			t.Errorf("%s role allows\n  %s\nwant\n  %s", fn, strings.Join(got, "\n  "), strings.Join(pairs, "\n  "))
		}
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func TestAlarmIntakeIsAsynchronousWithDeadLetters(t *testing.T) {
	s := fullStack(t)
	ingest := map[string]any{"Fn::GetAtt": []any{s.logicalID(t, "AWS::Lambda::Function", "IngestFunction"), "Arn"}}
	dlq := map[string]any{"Fn::GetAtt": []any{s.logicalID(t, "AWS::SQS::Queue", "DeadLetters"), "Arn"}}
	check(t, "EventBridge rule", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": map[string]any{
				"source": []any{"aws.cloudwatch"}, "detail-type": []any{"CloudWatch Alarm State Change"},
				"detail": map[string]any{
					"state":     map[string]any{"value": []any{"ALARM", "OK"}},
					"alarmName": []any{map[string]any{"prefix": "heal-"}, map[string]any{"prefix": "ops/"}},
				},
			},
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn": ingest, "DeadLetterConfig": map[string]any{"Arn": dlq},
				"RetryPolicy": map[string]any{"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 7200},
			})},
		})
	})
	check(t, "SNS subscription with a DLQ", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "lambda", "Endpoint": ingest,
			"TopicArn":      map[string]any{"Ref": s.logicalID(t, "AWS::SNS::Topic", "AlarmTopic")},
			"RedrivePolicy": map[string]any{"deadLetterTargetArn": dlq},
		})
	})
	check(t, "Lambda async on-failure destination", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"FunctionName": map[string]any{"Ref": s.logicalID(t, "AWS::Lambda::Function", "IngestFunction")},
			"Qualifier":    "$LATEST", "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600,
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{"Destination": dlq}},
		})
	})
	// Every asynchronous path, not just ingest's, ends in a DLQ.
	for id, r := range s.resources("AWS::Events::Rule") {
		for _, target := range r["Properties"].(map[string]any)["Targets"].([]any) {
			if _, ok := target.(map[string]any)["DeadLetterConfig"]; !ok {
				t.Errorf("rule %s has a target without a DLQ", id)
			}
		}
	}
	for id, r := range s.resources("AWS::SNS::Subscription") {
		p := r["Properties"].(map[string]any)
		if _, ok := p["RedrivePolicy"]; p["Protocol"] == "lambda" && !ok {
			t.Errorf("subscription %s has no DLQ", id)
		}
	}
	for _, f := range Functions {
		if !f.invokedBy(FromAlarms) && !f.uses(UseSelfInvoke) {
			continue
		}
		ref := render(map[string]any{"Ref": s.logicalID(t, "AWS::Lambda::Function", pascal(f.Name)+"Function")})
		found := false
		for _, r := range s.resources("AWS::Lambda::EventInvokeConfig") {
			found = found || render(r["Properties"].(map[string]any)["FunctionName"]) == ref
		}
		if !found {
			t.Errorf("%s is invoked asynchronously but has no on-failure destination", f.Name)
		}
	}
	check(t, "queue is encrypted and SSL-only", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600})
	})
}

func TestTopicsAreSSLOnlyAndAlarmsMayPublish(t *testing.T) {
	s := fullStack(t)
	sslDeny := assertions.Match_ObjectLike(&map[string]any{
		"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	})
	for _, topic := range []string{"AlarmTopic", "OpsTopic"} {
		ref := map[string]any{"Ref": s.logicalID(t, "AWS::SNS::Topic", topic)}
		check(t, topic+" SSL-only", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
				"Topics":         []any{ref},
				"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{sslDeny})}),
			})
		})
	}
	alarms := func(prefixes ...string) []any {
		var out []any
		for _, p := range prefixes {
			out = append(out, partition+"cloudwatch:"+regionAcc+"alarm:"+p+"*")
		}
		return out
	}
	// Finding 7 (the alarm topic takes only the opted-in alarms of this
	// account, and no IAM principal may publish) and finding 2 (Medic's
	// own alarms may publish to the ops topic).
	for topic, want := range map[string][]any{"AlarmTopic": alarms("heal-", "ops/"), "OpsTopic": alarms("Medic-")} {
		policy := s.topicPolicy(t, topic)
		var allow, deny bool
		for _, raw := range policy["Statement"].([]any) {
			st := raw.(map[string]any)
			if st["Action"] != "sns:Publish" {
				continue
			}
			cond := st["Condition"].(map[string]any)
			switch st["Effect"] {
			case "Allow":
				allow = render(st["Principal"]) == `{"Service":"cloudwatch.amazonaws.com"}` &&
					render(cond["StringEquals"]) == `{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}` &&
					reflect.DeepEqual(strs(cond["ArnLike"].(map[string]any)["aws:SourceArn"]), strs(want))
			case "Deny":
				deny = render(st["Principal"]) == `{"AWS":"*"}` &&
					reflect.DeepEqual(strs(cond["ArnNotLike"].(map[string]any)["aws:SourceArn"]), strs(want))
			}
		}
		if !allow || !deny {
			t.Errorf("%s: CloudWatch publish for %v allowed %v, everyone else denied %v:\n%s", topic, want, allow, deny, render(policy))
		}
	}
	for _, out := range []string{"AlarmTopicArn", "AlertStateTableName", "DeadLettersUrl"} {
		check(t, out+" output", func() { s.tpl.HasOutput(jsii.String(out), map[string]any{}) })
	}
}

func TestAlertStateTable(t *testing.T) {
	s := fullStack(t)
	check(t, "table", func() {
		s.tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{
				"KeySchema": []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}, map[string]any{"AttributeName": "sk", "KeyType": "RANGE"}},
				"AttributeDefinitions": []any{map[string]any{"AttributeName": "pk", "AttributeType": "S"},
					map[string]any{"AttributeName": "sk", "AttributeType": "S"}},
				"BillingMode":                      "PAY_PER_REQUEST",
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires_at", "Enabled": true},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			},
		})
	})
}

func TestSlackURLAndSecrets(t *testing.T) {
	s := fullStack(t)
	chatops := s.logicalID(t, "AWS::Lambda::Function", "ChatopsFunction")
	check(t, "function URL", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{
			"AuthType": "NONE", "TargetFunctionArn": map[string]any{"Fn::GetAtt": []any{chatops, "Arn"}},
		})
		s.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(1))
		s.tpl.HasOutput(jsii.String("ChatopsFunctionUrl"), map[string]any{})
	})
	for _, key := range slackSecretKeys {
		check(t, "secret "+key, func() {
			s.tpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
				"DeletionPolicy": "Retain",
				"Properties": assertions.Match_ObjectLike(&map[string]any{
					"GenerateSecretString": map[string]any{"ExcludePunctuation": true},
				}),
			})
			s.tpl.HasOutput(jsii.String(slackSecretOutput[key]), map[string]any{})
		})
	}
	// Finding 9: a fixed name plus Retain made the next deploy after a
	// destroy fail (the name was taken). CloudFormation names them now.
	for id, r := range s.resources("AWS::SecretsManager::Secret") {
		if name, fixed := r["Properties"].(map[string]any)["Name"]; fixed {
			t.Errorf("secret %s has the fixed name %v", id, name)
		}
	}
}

func TestAlarmsAndDashboardWatchMedic(t *testing.T) {
	s := fullStack(t)
	ops := map[string]any{"Ref": s.logicalID(t, "AWS::SNS::Topic", "OpsTopic")}
	for _, metric := range []string{RemediationsFailed, Escalations, EventsRejected} {
		check(t, metric+" alarm", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
				"Namespace": "Medic", "MetricName": metric, "Statistic": "Sum", "Threshold": 1,
				"ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": []any{ops},
			})
		})
	}
	for _, w := range planned(s) {
		sm := map[string]any{"Ref": s.logicalID(t, "AWS::StepFunctions::StateMachine", pascal(w.Name)+"StateMachine")}
		for metric, name := range map[string]string{"ExecutionsFailed": "failed", "ExecutionsTimedOut": "timed-out", "ExecutionsAborted": "aborted"} {
			check(t, w.Name+" "+metric+" alarm", func() {
				s.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"AlarmName": "Medic-" + w.Name + "-executions-" + name,
					"Namespace": "AWS/States", "MetricName": metric, "Statistic": "Sum", "Threshold": 1,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": []any{ops},
					"Dimensions": []any{map[string]any{"Name": "StateMachineArn", "Value": sm}},
				})
			})
		}
	}
	// 4 of Medic's own (failed, escalations, rejected, dead letters), 3 per workflow, 2 per function.
	check(t, "alarm count", func() {
		s.tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(float64(4+3*len(planned(s))+2*len(Functions))))
	})
	check(t, "dead letters alarm", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "AlarmActions": []any{ops},
		})
	})
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := a["Properties"].(map[string]any)
		if name, _ := p["AlarmName"].(string); !strings.HasPrefix(name, "Medic-") {
			t.Errorf("alarm %s is named %q: without the Medic- prefix it would feed Medic's own intake", id, name)
		}
		if render(p["AlarmActions"]) != render([]any{ops}) {
			t.Errorf("alarm %s does not notify the ops topic", id)
		}
	}
	check(t, "ops email", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": ops,
		})
	})
	dashboards := s.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("dashboards = %d, want 1", len(dashboards))
	}
	for _, d := range dashboards {
		body := render(d["Properties"].(map[string]any)["DashboardBody"])
		for _, metric := range []string{AlertsReceived, AlertsDeduplicated, RemediationsStarted, RemediationsSucceeded,
			RemediationsFailed, Escalations, "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted",
			"ApproximateNumberOfMessagesVisible"} {
			if !strings.Contains(body, `"`+metric+`"`) {
				t.Errorf("dashboard does not graph %s", metric)
			}
		}
	}
}

// A second, minimal stack: defaults, no chatops built. It shows the optional
// parts disappear, untagged targets are flagged, nag really runs, and the
// function asset (so what Lambda runs) changes when a pack changes.
func TestDefaultsWithoutChatopsAndPackChanges(t *testing.T) {
	root := fixture(t, "ingest", "notify")
	withoutMachines(t, root, "ask-approval", "collect-evidence", "elb-heal-targets", "http-request") // they need chatops and http
	s := synth(t, root, testConfig())
	check(t, "no chatops, no URL", func() {
		s.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(2))
		s.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(0))
		s.tpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(1)) // ingest only; no ops email
	})
	for id, lg := range s.resources("AWS::Logs::LogGroup") {
		if got := lg["Properties"].(map[string]any)["RetentionInDays"]; got != float64(30) {
			t.Errorf("%s retention = %v, want the default 30", id, got)
		}
	}
	check(t, "data is destroyed only when asked", func() {
		s.tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionPolicy": "Retain"})
	})

	codeKey := func(s *synthed, fn string) string {
		return render(s.props(s.logicalID(t, "AWS::Lambda::Function", fn))["Code"].(map[string]any)["S3Key"])
	}
	pack := filepath.Join(BuildDir(root, "ingest"), "packs", "linux", "pack.yaml")
	data, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, pack, string(data)+"\n# changed\n")
	cfg := testConfig()
	cfg.RetainData = false
	changed := synth(t, root, cfg)
	if codeKey(s, "IngestFunction") == codeKey(changed, "IngestFunction") {
		t.Error("ingest's asset did not change with its packs: pack content would not deploy")
	}
	if codeKey(s, "NotifyFunction") != codeKey(changed, "NotifyFunction") {
		t.Error("notify's asset changed although nothing of it did")
	}
	check(t, "retainData false destroys the table", func() {
		changed.tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionPolicy": "Delete"})
	})
}

// Nag must be live, not just quiet: an unprotected topic added to the stack
// is reported.
func TestNagCatchesAViolation(t *testing.T) {
	root := fixture(t, "ingest", "notify")
	withoutMachines(t, root, "ask-approval", "collect-evidence", "elb-heal-targets", "http-request")
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	m, err := New(app, "Medic", Props{AssetRoot: root, Config: testConfig()})
	if err != nil {
		t.Fatal(err)
	}
	awssns.NewTopic(m.Stack, jsii.String("Unprotected"), nil)
	AddNag(app)
	check(t, "SNS3 reported", func() {
		assertions.Annotations_FromStack(m.Stack).HasError(jsii.String("/Medic/Unprotected/Resource"),
			assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-SNS3")))
	})
}

func TestSchedulesInvokeIngest(t *testing.T) {
	s := fullStack(t)
	ingest := s.logicalID(t, "AWS::Lambda::Function", "IngestFunction")
	ingestArn := "{" + ingest + ".Arn}"
	dlq := "{" + s.logicalID(t, "AWS::SQS::Queue", "DeadLetters") + ".Arn}"
	role := s.logicalID(t, "AWS::IAM::Role", "SchedulerRole")
	group := "Schedules" // an L1 at the stack's root keeps its id
	if got := s.props(group)["Name"]; got != "Medic" {
		t.Errorf("schedule group name = %v", got)
	}
	want := map[string]PlannedTimer{FlushName: {Schedule: timerSchedule(FlushExpression, ""), Input: FlushInput}}
	for _, tm := range s.medic.Plan().Timers {
		want[ScheduleName(tm.Rule)] = tm
	}
	if len(want) != 3 {
		t.Fatalf("want two timer schedules and the flush, planned %v", want)
	}
	schedules := s.resources("AWS::Scheduler::Schedule")
	if len(schedules) != len(want) {
		t.Errorf("%d schedules, want %d (one per enabled timer rule, plus the flush)", len(schedules), len(want))
	}
	for id, r := range schedules {
		p := r["Properties"].(map[string]any)
		name, _ := p["Name"].(string)
		tm, ok := want[name]
		if !ok {
			t.Errorf("schedule %s named %q is no timer rule's", id, name)
			continue
		}
		if p["ScheduleExpression"] != tm.Schedule.Expression || render(p["GroupName"]) != "{"+group+"}" {
			t.Errorf("%s: expression %v group %v", name, p["ScheduleExpression"], render(p["GroupName"]))
		}
		if tz, _ := p["ScheduleExpressionTimezone"].(string); tz != tm.Schedule.Timezone {
			t.Errorf("%s: timezone %q, want %q", name, tz, tm.Schedule.Timezone)
		}
		if render(p["FlexibleTimeWindow"]) != `{"Mode":"OFF"}` || p["State"] != "ENABLED" {
			t.Errorf("%s: window %s state %v", name, render(p["FlexibleTimeWindow"]), p["State"])
		}
		target := p["Target"].(map[string]any)
		retry := TimerRetry
		if name == FlushName {
			retry = FlushRetry
		}
		wantRetry := fmt.Sprintf(`{"MaximumEventAgeInSeconds":%v,"MaximumRetryAttempts":%v}`, *retry.MaximumEventAgeInSeconds, *retry.MaximumRetryAttempts)
		deadLetters, _ := target["DeadLetterConfig"].(map[string]any)
		if render(target["Arn"]) != ingestArn || render(target["RoleArn"]) != "{"+role+".Arn}" || target["Input"] != tm.Input ||
			render(deadLetters["Arn"]) != dlq || render(target["RetryPolicy"]) != wantRetry {
			t.Errorf("%s: target %s", name, render(target))
		}
		if deps := render(r["DependsOn"]); !strings.Contains(deps, role) {
			t.Errorf("%s does not wait for its role and policy: DependsOn %s", name, deps)
		}
	}
	// The flush input is the one ingest recognises, byte for byte.
	if FlushInput != dispatch.FlushEvent || !dispatch.IsFlushEvent([]byte(FlushInput)) {
		t.Errorf("FlushInput = %s, dispatch.FlushEvent = %s", FlushInput, dispatch.FlushEvent)
	}
	// Scheduler may invoke ingest and send to the DLQ, nothing else, and
	// only on behalf of this account.
	if got, want := allowed(s.statements(role)), []string{"lambda:InvokeFunction on " + ingestArn, "sqs:SendMessage on " + dlq}; !reflect.DeepEqual(got, want) {
		t.Errorf("scheduler role allows %v, want %v", got, want)
	}
	check(t, "scheduler trust", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "scheduler.amazonaws.com"},
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
			}}},
		})
	})
}

func timerSchedule(expr, tz string) timer.Schedule {
	return timer.Schedule{Expression: expr, Timezone: tz}
}

// Both ingest (consolidation leases) and chatops (chat threads, alias
// results) get the ends of executions, each with retries and the DLQ.
func TestExecutionStatusEventsReachIngestAndChatops(t *testing.T) {
	s := fullStack(t)
	var machines []any
	for _, w := range planned(s) {
		machines = append(machines, stateMachineArn(w.Name))
	}
	ingest := map[string]any{"Fn::GetAtt": []any{s.logicalID(t, "AWS::Lambda::Function", "IngestFunction"), "Arn"}}
	chatops := map[string]any{"Fn::GetAtt": []any{s.logicalID(t, "AWS::Lambda::Function", "ChatopsFunction"), "Arn"}}
	dlq := map[string]any{"Fn::GetAtt": []any{s.logicalID(t, "AWS::SQS::Queue", "DeadLetters"), "Arn"}}
	id := s.logicalID(t, "AWS::Events::Rule", "ExecutionStatusChanges")
	p := s.props(id)
	pattern := p["EventPattern"].(map[string]any)
	detail := pattern["detail"].(map[string]any)
	if render(pattern["source"]) != `["aws.states"]` || render(pattern["detail-type"]) != `["Step Functions Execution Status Change"]` ||
		render(detail["status"]) != `["SUCCEEDED","FAILED","TIMED_OUT","ABORTED"]` {
		t.Errorf("pattern = %s", render(pattern))
	}
	var got []any
	for _, arn := range detail["stateMachineArn"].([]any) {
		got = append(got, render(arn))
	}
	if !reflect.DeepEqual(got, machines) {
		t.Errorf("stateMachineArn = %v\nwant every Medic machine %v", got, machines)
	}
	target := func(fn map[string]any) any {
		return assertions.Match_ObjectLike(&map[string]any{
			"Arn": fn, "DeadLetterConfig": map[string]any{"Arn": dlq},
			"RetryPolicy": map[string]any{"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 7200},
		})
	}
	check(t, "targets with retries and DLQ", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": assertions.Match_ObjectLike(&map[string]any{"source": []any{"aws.states"}}),
			"Targets":      []any{target(ingest), target(chatops)},
		})
	})
	for name, fn := range map[string]map[string]any{"ingest": ingest, "chatops": chatops} {
		check(t, "EventBridge may invoke "+name+" for it", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
				"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "FunctionName": fn,
				"SourceArn": map[string]any{"Fn::GetAtt": []any{id, "Arn"}},
			})
		})
	}
}
