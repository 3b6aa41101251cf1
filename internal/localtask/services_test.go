package localtask_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/workflow"
)

// The aws_* packs' actions (statemachines/collect-evidence) built as
// `medic run` builds them and run in the interpreter against the simulated
// account: evidence, escalation, approval, fix and re-measurement.

const accountFile = `
metrics:
  - {namespace: AWS/RDS, name: CPUUtilization, dimensions: {DBInstanceIdentifier: orders-db}, values: [40, 70, 95, 97]}
  - {namespace: AWS/Lambda, name: Throttles, dimensions: {FunctionName: resize}, values: [0, 12, 30], after_fix: [0]}
  - {namespace: AWS/Lambda, name: Throttles, dimensions: {FunctionName: stuck}, values: [0, 12, 30], after_fix: [25]}
  - {namespace: AWS/SQS, name: ApproximateAgeOfOldestMessage, dimensions: {QueueName: orders}, values: [100, 600, 912], after_fix: [120]}
  - {namespace: AWS/SQS, name: ApproximateAgeOfOldestMessage, dimensions: {QueueName: invoices}, values: [100, 900], after_fix: [60]}
  - {namespace: AWS/SQS, name: ApproximateAgeOfOldestMessage, dimensions: {QueueName: reports}, values: [100, 900], after_fix: [60]}
alarms:
  - {name: orders-db-cpu, state: ALARM, namespace: AWS/RDS, metric: CPUUtilization, dimensions: {DBInstanceIdentifier: orders-db}, reason: "Threshold Crossed", history: ["Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"]}
  - {name: orders-db-connections, state: ALARM, namespace: AWS/RDS, metric: DatabaseConnections, dimensions: {DBInstanceIdentifier: orders-db}, reason: "Threshold Crossed: 1 datapoint [480.0] was greater than 400"}
  - {name: other-db-cpu, state: ALARM, namespace: AWS/RDS, metric: CPUUtilization, dimensions: {DBInstanceIdentifier: other-db}}
  - {name: orders-db-memory, state: OK, namespace: AWS/RDS, metric: FreeableMemory, dimensions: {DBInstanceIdentifier: orders-db}}
rds_instances:
  - {id: orders-db, class: db.r6g.large, engine: postgres, allocated_storage: 100}
lambda_functions:
  - {name: resize, runtime: nodejs20.x, timeout: 30, memory: 512}
  - {name: stuck, timeout: 30, memory: 512}
sqs_queues:
  - {name: orders, messages: 3, dead_letter_queue: orders-dlq, tags: {"medic:consumer": "ecs:prod/orders-worker"}}
  - {name: reports, messages: 800, tags: {"medic:consumer": "asg:full"}}
  - {name: payments, messages: 500}
  - {name: tricky, messages: 5, tags: {"medic:consumer": "ecs:prod/x; rm -rf /"}}
  - {name: orders-dlq, messages: 42}
  - {name: invoices, messages: 9, dead_letter_queue: invoices-dlq, tags: {"medic:consumer": "asg:web"}}
  - {name: invoices-dlq, messages: 7, redrive_fails: true}
sns_topics:
  - {name: alerts, subscriptions_confirmed: 2}
ecs_services:
  - {cluster: prod, name: api, desired: 4, running: 1, events: ["(service api) has started 1 tasks", "(service api) task 1f2e stopped: Essential container exited"]}
  - {cluster: prod, name: worker, desired: 2, running: 0, deployment_fails: true}
  - {cluster: prod, name: orders-worker, desired: 2, running: 2}
dynamodb_tables:
  - {name: sessions, billing_mode: PROVISIONED, read_capacity: 5, write_capacity: 5}
cache_clusters:
  - {id: cache-001, node_type: cache.t4g.small, engine: redis, nodes: 1}
rest_apis:
  - {id: a1b2c3, name: shop, stages: [prod]}
http_apis:
  - {id: h9h9, stages: [live]}
target_groups:
  - name: targetgroup/web/73e2d6bc24d8a067
    targets:
      - {id: i-0web1, port: 80, state: healthy}
      - {id: i-0web2, port: 80, state: unhealthy, reason: Target.ResponseCodeMismatch}
load_balancers:
  - {name: app/web/50dc6c495c0c9188, type: application}
volumes:
  - {id: vol-0data, type: gp2, size: 100}
`

type accountRun struct {
	// override replaces plan input values (a command that needs systemd).
	override map[string]any
	account  *localtask.Account
	fleet    *localtask.Fleet
	hub      *asl.TokenHub
	answer   func(hub *asl.TokenHub, token string) // the approver; nil = nobody answers
	mu       sync.Mutex
	notified []map[string]any
	asked    []map[string]any
}

func newAccountRun(t *testing.T) *accountRun {
	t.Helper()
	a, err := localtask.ParseAccount([]byte(accountFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := localtask.ParseFleet([]byte(`
instances:
  - {id: i-0burst, type: t3.micro}
auto_scaling_groups:
  - {name: web, min: 1, max: 4, desired: 2}
  - {name: full, min: 1, max: 3, desired: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	return &accountRun{account: a, fleet: f, hub: asl.NewTokenHub()}
}

func approve(hub *asl.TokenHub, token string) {
	hub.Success(token, map[string]any{"approved": true, "by": "U1"})
}
func reject(hub *asl.TokenHub, token string) { hub.Failure(token, "Medic.ApprovalRejected", "not now") }

func (r *accountRun) run(t *testing.T, ref string, params map[string]any) (map[string]any, error) {
	t.Helper()
	packs, err := pack.LoadDir("../../packs")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := packs.Action(ref)
	if !ok {
		t.Fatalf("no action %s", ref)
	}
	resolved, err := a.ResolveParams(params)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := action.Build(a, resolved, action.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.override {
		plan.Input[k] = v
	}
	lib, err := workflow.LoadLibrary("../../statemachines", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := lib.Machine(plan.StateMachine)
	if !ok {
		t.Fatalf("no machine %s", plan.StateMachine)
	}
	h := &localtask.Handler{SSM: &localtask.SSM{}, Fleet: r.fleet, Account: r.account, Functions: map[string]localtask.Function{
		"medic-notify": func(_ context.Context, p any) (any, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.notified = append(r.notified, p.(map[string]any))
			return nil, nil
		},
		"medic-approval": func(_ context.Context, p any) (any, error) {
			req := p.(map[string]any)
			r.mu.Lock()
			r.asked = append(r.asked, req)
			r.mu.Unlock()
			if r.answer != nil {
				go r.answer(r.hub, req["token"].(string))
			}
			return map[string]any{}, nil
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := m.Run(ctx, plan.Input, asl.Options{Tasks: h, Tokens: r.hub, Clock: settle{asl.NewVirtualClock(time.Unix(1700000000, 0))}, ExecutionName: "test"})
	res, _ := out.(map[string]any)
	return res, err
}

func (r *accountRun) notice(t *testing.T, kind string) map[string]any {
	t.Helper()
	for _, n := range r.notified {
		if n["kind"] == kind {
			return n
		}
	}
	t.Fatalf("no %s notice in %v", kind, r.notified)
	return nil
}

// alarmParams are the parameters the aws_* rules pass from an alarm.
func alarmParams(namespace, metric string, dims map[string]any, extra map[string]any) map[string]any {
	p := map[string]any{"alarm_name": "test-alarm", "namespace": namespace, "metric_name": metric, "dimensions": dims,
		"statistic": "Maximum", "threshold": 10.0, "comparison": "GreaterThanThreshold", "region": "us-east-1", "account": "123456789012"}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestEvidenceIsCollectedAndEscalated(t *testing.T) {
	r := newAccountRun(t)
	params := alarmParams("AWS/RDS", "CPUUtilization", map[string]any{"DBInstanceIdentifier": "orders-db"}, nil)
	params["alarm_name"] = "orders-db-cpu"
	out, err := r.run(t, "aws_rds.escalate_with_evidence", params)
	if err != nil {
		t.Fatal(err)
	}
	if out["escalated"] != true {
		t.Fatalf("output %v", out)
	}
	n := r.notice(t, "evidence")
	ev := n["evidence"].(map[string]any)
	metric := ev["metric"].(map[string]any)
	if v := metric["values"].([]any); len(v) != 4 || v[0] != 97.0 || v[3] != 40.0 {
		t.Errorf("metric values (newest first) %v", metric["values"])
	}
	if h := ev["history"].([]any); len(h) != 2 || !strings.Contains(h[0].(map[string]any)["summary"].(string), "OK to ALARM") {
		t.Errorf("history %v", ev["history"])
	}
	// Only the other alarm in ALARM on the same instance: not itself, not
	// another instance's, not one in OK.
	related := ev["related_alarms"].([]any)
	if len(related) != 1 || related[0].(map[string]any)["alarm"] != "orders-db-connections" {
		t.Errorf("related alarms %v", related)
	}
	if c := ev["configuration"].(map[string]any); c["DBInstanceClass"] != "db.r6g.large" || c["AllocatedStorage"] != 100.0 {
		t.Errorf("configuration %v", c)
	}
	if n["offer"] != nil || len(r.asked) != 0 {
		t.Errorf("evidence-only action offered a fix: %v %v", n["offer"], r.asked)
	}
}

// Each service's configuration lookup, from the alarm's dimensions.
func TestEvidenceReadsEachServicesConfiguration(t *testing.T) {
	cases := []struct {
		ref, namespace, metric string
		dims                   map[string]any
		extra                  map[string]any
		key                    string
		want                   any
	}{
		{"aws_elb.escalate_with_evidence", "AWS/ApplicationELB", "UnHealthyHostCount", map[string]any{"TargetGroup": "targetgroup/web/73e2d6bc24d8a067", "LoadBalancer": "app/web/50dc6c495c0c9188"}, nil, "targets", nil},
		{"aws_elb.escalate_with_evidence", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", map[string]any{"LoadBalancer": "app/web/50dc6c495c0c9188"}, nil, "Type", "application"},
		{"aws_lambda.escalate_with_evidence", "AWS/Lambda", "Errors", map[string]any{"FunctionName": "resize"}, nil, "Runtime", "nodejs20.x"},
		{"aws_sqs.escalate_with_evidence", "AWS/SQS", "ApproximateAgeOfOldestMessage", map[string]any{"QueueName": "orders"}, map[string]any{"service": "sqs"}, "QueueUrl", "https://sqs.us-east-1.amazonaws.com/123456789012/orders"},
		{"aws_sqs.escalate_with_evidence", "AWS/SNS", "NumberOfNotificationsFailed", map[string]any{"TopicName": "alerts"}, map[string]any{"service": "sns"}, "SubscriptionsConfirmed", "2"},
		{"aws_ecs.escalate_with_evidence", "AWS/ECS", "MemoryUtilization", map[string]any{"ClusterName": "prod", "ServiceName": "api"}, nil, "RunningCount", 1.0},
		{"aws_dynamodb.escalate_with_evidence", "AWS/DynamoDB", "ReadThrottleEvents", map[string]any{"TableName": "sessions"}, nil, "TableStatus", "ACTIVE"},
		{"aws_elasticache.escalate_with_evidence", "AWS/ElastiCache", "Evictions", map[string]any{"CacheClusterId": "cache-001"}, nil, "CacheNodeType", "cache.t4g.small"},
		{"aws_apigateway.escalate_with_evidence", "AWS/ApiGateway", "5XXError", map[string]any{"ApiName": "shop", "Stage": "prod"}, nil, "RestApiId", "a1b2c3"},
		{"aws_apigateway.escalate_with_evidence", "AWS/ApiGateway", "5xx", map[string]any{"ApiId": "h9h9", "Stage": "live"}, nil, "StageName", "live"},
		{"aws_ec2.escalate_with_evidence", "AWS/EC2", "CPUCreditBalance", map[string]any{"InstanceId": "i-0burst"}, map[string]any{"service": "ec2"}, "InstanceType", "t3.micro"},
		{"aws_ec2.escalate_with_evidence", "AWS/EBS", "BurstBalance", map[string]any{"VolumeId": "vol-0data"}, map[string]any{"service": "ebs"}, "VolumeType", "gp2"},
		{"aws_ec2.escalate_with_evidence", "AWS/AutoScaling", "GroupInServiceInstances", map[string]any{"AutoScalingGroupName": "web"}, map[string]any{"service": "autoscaling"}, "DesiredCapacity", 2.0},
	}
	for _, c := range cases {
		r := newAccountRun(t)
		if _, err := r.run(t, c.ref, alarmParams(c.namespace, c.metric, c.dims, c.extra)); err != nil {
			t.Errorf("%s %s: %v", c.ref, c.metric, err)
			continue
		}
		config := r.notice(t, "evidence")["evidence"].(map[string]any)["configuration"].(map[string]any)
		got, ok := config[c.key]
		if !ok || c.want != nil && got != c.want {
			t.Errorf("%s %s: configuration %v, want %s = %v", c.ref, c.metric, config, c.key, c.want)
		}
	}
}

func TestTargetHealthIsTheDiagnosis(t *testing.T) {
	r := newAccountRun(t)
	if _, err := r.run(t, "aws_elb.escalate_with_evidence", alarmParams("AWS/ApplicationELB", "UnHealthyHostCount",
		map[string]any{"TargetGroup": "targetgroup/web/73e2d6bc24d8a067", "LoadBalancer": "app/web/50dc6c495c0c9188"}, nil)); err != nil {
		t.Fatal(err)
	}
	targets := r.notice(t, "evidence")["evidence"].(map[string]any)["configuration"].(map[string]any)["targets"].([]any)
	sick := targets[1].(map[string]any)
	if len(targets) != 2 || sick["id"] != "i-0web2" || sick["state"] != "unhealthy" || sick["reason"] != "Target.ResponseCodeMismatch" {
		t.Fatalf("targets %v", targets)
	}
}

// A resource that does not exist: the error is part of the evidence and
// the escalation still goes out.
func TestEvidenceOfAnUnknownResourceStillEscalates(t *testing.T) {
	r := newAccountRun(t)
	out, err := r.run(t, "aws_dynamodb.escalate_with_evidence", alarmParams("AWS/DynamoDB", "SystemErrors", map[string]any{"TableName": "gone"}, nil))
	if err != nil || out["escalated"] != true {
		t.Fatalf("%v %v", out, err)
	}
	config := r.notice(t, "evidence")["evidence"].(map[string]any)["configuration"].(map[string]any)
	if config["error"] != "DynamoDb.ResourceNotFoundException" {
		t.Fatalf("configuration %v", config)
	}
}

func TestStorageAutoscalingAfterApproval(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	out, err := r.run(t, "aws_rds.enable_storage_autoscaling", alarmParams("AWS/RDS", "FreeStorageSpace",
		map[string]any{"DBInstanceIdentifier": "orders-db"}, map[string]any{"db_instance": "orders-db", "max_allocated_storage_gib": 500, "comparison": "LessThanThreshold"}))
	if err != nil || out["healed"] != true {
		t.Fatalf("%v %v", out, err)
	}
	if len(r.asked) != 1 || !strings.Contains(r.asked[0]["params"].(map[string]any)["question"].(string), "rds_storage_autoscaling to orders-db") {
		t.Errorf("approval request %v", r.asked)
	}
	if offer := r.notice(t, "evidence")["offer"].(map[string]any); offer["fix"] != "rds_storage_autoscaling" || offer["approval_required"] != true {
		t.Errorf("offer %v", offer)
	}
	if n := r.notice(t, "fix_result"); n["ok"] != true || n["observed"].(map[string]any)["MaxAllocatedStorage"] != 500.0 {
		t.Errorf("result %v", n)
	}
}

func TestRejectedFixChangesNothing(t *testing.T) {
	r := newAccountRun(t)
	r.answer = reject
	_, err := r.run(t, "aws_rds.enable_storage_autoscaling", alarmParams("AWS/RDS", "FreeStorageSpace",
		map[string]any{"DBInstanceIdentifier": "orders-db"}, map[string]any{"db_instance": "orders-db"}))
	wantError(t, err, "Medic.ApprovalRejected")
	out, _ := r.account.DescribeDBInstances(map[string]any{"DBInstanceIdentifier": "orders-db"})
	if _, set := out.(map[string]any)["DBInstances"].([]any)[0].(map[string]any)["MaxAllocatedStorage"]; set {
		t.Fatal("storage autoscaling was enabled without approval")
	}
}

func TestUnansweredApprovalExpires(t *testing.T) {
	r := newAccountRun(t)
	_, err := r.run(t, "aws_lambda.reserve_concurrency", alarmParams("AWS/Lambda", "Throttles",
		map[string]any{"FunctionName": "resize"}, map[string]any{"function_name": "resize", "approval_timeout_seconds": 60}))
	wantError(t, err, "Medic.ApprovalExpired")
	r.notice(t, "approval_expired")
}

// A ceiling RDS would refuse (not 10% above the allocated 100 GiB) is
// reported without asking anyone or calling ModifyDBInstance.
func TestStorageCeilingTooLowIsNotOffered(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	_, err := r.run(t, "aws_rds.enable_storage_autoscaling", alarmParams("AWS/RDS", "FreeStorageSpace",
		map[string]any{"DBInstanceIdentifier": "orders-db"}, map[string]any{"db_instance": "orders-db", "max_allocated_storage_gib": 105}))
	wantError(t, err, "Medic.RemediationFailed")
	if len(r.asked) != 0 {
		t.Errorf("asked for approval of a fix that cannot apply: %v", r.asked)
	}
	if e := r.notice(t, "fix_result")["error"].(map[string]any); e["Error"] != "Medic.FixNotApplicable" {
		t.Errorf("error %v", e)
	}
}

func TestReservedConcurrencyVerifiedByTheMetric(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	out, err := r.run(t, "aws_lambda.reserve_concurrency", alarmParams("AWS/Lambda", "Throttles",
		map[string]any{"FunctionName": "resize"}, map[string]any{"function_name": "resize", "reserved_concurrency": 50, "statistic": "Sum", "threshold": 5.0}))
	if err != nil || out["healed"] != true {
		t.Fatalf("%v %v", out, err)
	}
	if o := out["observed"].(map[string]any); o["latest"] != 0.0 {
		t.Errorf("observed %v", o)
	}
	// Still throttled after the reservation: re-measured verify_checks
	// times, then escalated.
	r = newAccountRun(t)
	r.answer = approve
	_, err = r.run(t, "aws_lambda.reserve_concurrency", alarmParams("AWS/Lambda", "Throttles",
		map[string]any{"FunctionName": "stuck"}, map[string]any{"function_name": "stuck", "statistic": "Sum", "threshold": 5.0, "verify_checks": 3}))
	wantError(t, err, "Medic.RemediationFailed")
	if n := r.notice(t, "fix_result"); n["ok"] != false || n["checks"] != 3.0 || n["observed"].(map[string]any)["latest"] != 25.0 {
		t.Errorf("result %v", n)
	}
}

func TestDeadLetterQueueRedrive(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	out, err := r.run(t, "aws_sqs.redrive_dead_letter_queue", alarmParams("AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]any{"QueueName": "orders-dlq"}, nil))
	if err != nil || out["healed"] != true {
		t.Fatalf("%v %v", out, err)
	}
	config := r.notice(t, "evidence")["evidence"].(map[string]any)["configuration"].(map[string]any)
	if src := config["DeadLetterSourceQueues"].([]any); len(src) != 1 || !strings.HasSuffix(src[0].(string), "/orders") {
		t.Errorf("sources %v", config)
	}
	// The redriven messages fail again: the DLQ does not empty.
	r = newAccountRun(t)
	r.answer = approve
	_, err = r.run(t, "aws_sqs.redrive_dead_letter_queue", alarmParams("AWS/SQS", "ApproximateNumberOfMessagesVisible",
		map[string]any{"QueueName": "invoices-dlq"}, map[string]any{"verify_checks": 2}))
	wantError(t, err, "Medic.RemediationFailed")
}

// A backlog on a work queue (no queue sends it its dead letters): evidence
// only, no redrive offered.
func TestWorkQueueBacklogIsEscalatedNotRedriven(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	out, err := r.run(t, "aws_sqs.redrive_dead_letter_queue", alarmParams("AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]any{"QueueName": "orders"}, nil))
	if err != nil || out["escalated"] != true {
		t.Fatalf("%v %v", out, err)
	}
	if n := r.notice(t, "evidence"); n["offer"] != nil || len(r.asked) != 0 {
		t.Fatalf("offered a redrive of a work queue: %v %v", n["offer"], r.asked)
	}
}

func TestForceNewDeployment(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	out, err := r.run(t, "aws_ecs.force_new_deployment", alarmParams("ECS/ContainerInsights", "RunningTaskCount",
		map[string]any{"ClusterName": "prod", "ServiceName": "api"}, map[string]any{"cluster": "prod", "ecs_service": "api", "comparison": "LessThanThreshold"}))
	if err != nil || out["healed"] != true {
		t.Fatalf("%v %v", out, err)
	}
	events := r.notice(t, "evidence")["evidence"].(map[string]any)["configuration"].(map[string]any)["Events"].([]any)
	if len(events) != 2 || !strings.Contains(events[1].(map[string]any)["message"].(string), "Essential container exited") {
		t.Errorf("events %v", events)
	}
	// The new tasks crash too: the rollout fails and a human is called.
	r = newAccountRun(t)
	r.answer = approve
	_, err = r.run(t, "aws_ecs.force_new_deployment", alarmParams("ECS/ContainerInsights", "RunningTaskCount",
		map[string]any{"ClusterName": "prod", "ServiceName": "worker"}, map[string]any{"cluster": "prod", "ecs_service": "worker", "verify_checks": 2}))
	wantError(t, err, "Medic.RemediationFailed")
	if n := r.notice(t, "fix_result"); n["observed"].(map[string]any)["Deployments"].([]any)[0].(map[string]any)["RolloutState"] != "FAILED" {
		t.Errorf("result %v", n)
	}
}

// The fix's call is refused by the service (an unknown service): nothing
// healed, the error is reported.
func TestFixRefusedByTheServiceEscalates(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	_, err := r.run(t, "aws_ecs.force_new_deployment", alarmParams("ECS/ContainerInsights", "RunningTaskCount",
		map[string]any{"ClusterName": "prod", "ServiceName": "gone"}, map[string]any{"cluster": "prod", "ecs_service": "gone"}))
	wantError(t, err, "Medic.RemediationFailed")
	if e := r.notice(t, "fix_result")["error"].(map[string]any); e["Error"] != "Ecs.ServiceNotFoundException" {
		t.Errorf("error %v", e)
	}
}

func oldestMessage(queue string, extra map[string]any) map[string]any {
	return alarmParams("AWS/SQS", "ApproximateAgeOfOldestMessage", map[string]any{"QueueName": queue},
		with(map[string]any{"statistic": "Maximum", "threshold": 300.0, "comparison": "GreaterThanThreshold"}, extra))
}

func with(p, extra map[string]any) map[string]any {
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// The consumer of a queue whose oldest message is too old grows by
// scale_by, without approval, and the age is re-measured.
func TestOldMessagesScaleTheConsumerService(t *testing.T) {
	r := newAccountRun(t)
	out, err := r.run(t, "aws_sqs.scale_consumer", oldestMessage("orders", map[string]any{"scale_by": 2}))
	if err != nil || out["healed"] != true {
		t.Fatalf("%v %v", out, err)
	}
	if len(r.asked) != 0 {
		t.Errorf("asked for approval of an automatic fix: %v", r.asked)
	}
	if c := out["capacity"].(map[string]any); c["from"] != 2.0 || c["to"] != 4.0 {
		t.Errorf("capacity %v", c)
	}
	svc, _ := r.account.DescribeServices(map[string]any{"Cluster": "prod", "Services": []any{"orders-worker"}})
	if d := svc.(map[string]any)["Services"].([]any)[0].(map[string]any)["DesiredCount"]; d != 4.0 {
		t.Errorf("desired count %v", d)
	}
	if o := out["observed"].(map[string]any); o["latest"] != 120.0 {
		t.Errorf("observed %v", o)
	}
}

func TestOldMessagesScaleTheConsumerGroupWithinItsLimits(t *testing.T) {
	r := newAccountRun(t)
	out, err := r.run(t, "aws_sqs.scale_consumer", oldestMessage("invoices", map[string]any{"scale_by": 5}))
	if err != nil || out["healed"] != true {
		t.Fatalf("%v %v", out, err)
	}
	if _, _, desired, _ := r.fleet.Group("web"); desired != 4 {
		t.Errorf("web desired %d, want its MaxSize 4", desired)
	}
	// The group is at its MaxSize: nothing changes, a human is called.
	r = newAccountRun(t)
	_, err = r.run(t, "aws_sqs.scale_consumer", oldestMessage("reports", nil))
	wantError(t, err, "Medic.RemediationFailed")
	if e := r.notice(t, "fix_result")["error"].(map[string]any); e["Error"] != "Medic.AtCapacityLimit" {
		t.Errorf("error %v", e)
	}
	if _, _, desired, _ := r.fleet.Group("full"); desired != 3 {
		t.Errorf("full group changed to %d", desired)
	}
}

// No consumer tag, or one that does not name a consumer in the expected
// form: only the evidence goes out, nothing is scaled.
func TestOldMessagesWithoutAValidConsumerTagAreEscalated(t *testing.T) {
	for _, queue := range []string{"payments", "tricky"} {
		r := newAccountRun(t)
		out, err := r.run(t, "aws_sqs.scale_consumer", oldestMessage(queue, nil))
		if err != nil || out["escalated"] != true {
			t.Fatalf("%s: %v %v", queue, out, err)
		}
		if n := r.notice(t, "evidence"); n["offer"] != nil {
			t.Errorf("%s: offered %v", queue, n["offer"])
		}
	}
}

// Lambda keeps 100 executions unreserved: a reservation that would leave
// less is not offered (nobody is asked, nothing changes).
func TestReservationBeyondTheAccountsUnreservedIsNotOffered(t *testing.T) {
	r := newAccountRun(t)
	r.answer = approve
	_, err := r.run(t, "aws_lambda.reserve_concurrency", alarmParams("AWS/Lambda", "Throttles",
		map[string]any{"FunctionName": "resize"}, map[string]any{"function_name": "resize", "reserved_concurrency": 901}))
	wantError(t, err, "Medic.RemediationFailed")
	if len(r.asked) != 0 {
		t.Errorf("asked %v", r.asked)
	}
	config := r.notice(t, "evidence")["evidence"].(map[string]any)["configuration"].(map[string]any)
	if config["UnreservedConcurrentExecutions"] != 1000.0 {
		t.Errorf("configuration %v", config)
	}
	if e := r.notice(t, "fix_result")["error"].(map[string]any); e["Error"] != "Medic.FixNotApplicable" {
		t.Errorf("error %v", e)
	}
}

// Hostile dimension values reach the evidence calls only as API parameters:
// the lookup fails like AWS would, the escalation still goes out.
func TestHostileDimensionsOnlyReachAPIParameters(t *testing.T) {
	for _, bad := range []string{"x'; $(reboot)", "{% $states %}", "a\nb", strings.Repeat("z", 1024)} {
		r := newAccountRun(t)
		out, err := r.run(t, "aws_rds.escalate_with_evidence", alarmParams("AWS/RDS", "CPUUtilization", map[string]any{"DBInstanceIdentifier": bad}, nil))
		if err != nil || out["escalated"] != true {
			t.Fatalf("%q: %v %v", bad, out, err)
		}
		ev := r.notice(t, "evidence")
		if c := ev["evidence"].(map[string]any)["configuration"].(map[string]any); c["error"] != "Rds.DbInstanceNotFoundException" {
			t.Errorf("%q: configuration %v", bad, c)
		}
		if d := ev["alarm"].(map[string]any)["dimensions"].(map[string]any)["DBInstanceIdentifier"]; d != bad {
			t.Errorf("%q: reported as %q", bad, d)
		}
	}
}
