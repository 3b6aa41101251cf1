package action

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/trigger"
)

// Tests of the AWS-services packs (aws_rds, aws_elb, aws_lambda, aws_sqs,
// aws_ecs, aws_dynamodb, aws_elasticache, aws_apigateway and the evidence
// rules of aws_ec2): every rule fires on its real-shaped alarm event in
// events/aws with the parameters its action expects, no recommended alarm
// fires two rules, and every parameter is typed and constrained. Their
// machines run in internal/localtask/services_test.go.

// awsAlarm are the parameters every evidence action gets from the alarm.
func awsAlarm(namespace, metric string, dims map[string]any) map[string]any {
	return map[string]any{"alarm_name": "a", "namespace": namespace, "metric_name": metric, "dimensions": dims,
		"region": "us-east-1", "account": "123456789012"}
}

func with(p map[string]any, extra map[string]any) map[string]any {
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// awsServiceMinimalParams feed TestShippedActionsBuildPlansForExistingMachines.
var awsServiceMinimalParams = map[string]map[string]any{
	"aws_rds.escalate_with_evidence":         awsAlarm("AWS/RDS", "CPUUtilization", map[string]any{"DBInstanceIdentifier": "db"}),
	"aws_rds.enable_storage_autoscaling":     with(awsAlarm("AWS/RDS", "FreeStorageSpace", map[string]any{}), map[string]any{"db_instance": "db"}),
	"aws_elb.heal_unhealthy_targets":         {"target_group": "targetgroup/web/73e2d6bc24d8a067", "region": "us-east-1", "account": "123456789012"},
	"aws_elb.escalate_with_evidence":         awsAlarm("AWS/ApplicationELB", "UnHealthyHostCount", map[string]any{}),
	"aws_lambda.escalate_with_evidence":      awsAlarm("AWS/Lambda", "Errors", map[string]any{}),
	"aws_lambda.reserve_concurrency":         with(awsAlarm("AWS/Lambda", "Throttles", map[string]any{}), map[string]any{"function_name": "f"}),
	"aws_sqs.escalate_with_evidence":         with(awsAlarm("AWS/SQS", "NumberOfMessagesSent", map[string]any{}), map[string]any{"service": "sqs"}),
	"aws_sqs.scale_consumer":                 awsAlarm("AWS/SQS", "ApproximateAgeOfOldestMessage", map[string]any{}),
	"aws_sqs.redrive_dead_letter_queue":      awsAlarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]any{}),
	"aws_ecs.escalate_with_evidence":         awsAlarm("AWS/ECS", "CPUUtilization", map[string]any{}),
	"aws_ecs.force_new_deployment":           with(awsAlarm("ECS/ContainerInsights", "RunningTaskCount", map[string]any{}), map[string]any{"cluster": "c", "ecs_service": "s"}),
	"aws_dynamodb.escalate_with_evidence":    awsAlarm("AWS/DynamoDB", "SystemErrors", map[string]any{}),
	"aws_elasticache.escalate_with_evidence": awsAlarm("AWS/ElastiCache", "Evictions", map[string]any{}),
	"aws_apigateway.escalate_with_evidence":  awsAlarm("AWS/ApiGateway", "Latency", map[string]any{}),
	"aws_ec2.reboot_then_recover_instance":   {"instance_id": "i-0abc1234def567890"},
	"aws_ec2.escalate_with_evidence":         with(awsAlarm("AWS/EBS", "BurstBalance", map[string]any{}), map[string]any{"service": "ebs"}),
}

func readAWSEvent(t *testing.T, name string) trigger.Trigger {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	triggers, err := sensor.Parse(raw, sensor.Request{})
	if err != nil || len(triggers) != 1 {
		t.Fatalf("%s: %d triggers, %v", name, len(triggers), err)
	}
	return triggers[0]
}

// fired returns the refs of the shipped rules that fire on tr, and the
// resolved parameters of each.
func fired(t *testing.T, set *pack.Set, tr trigger.Trigger) ([]string, map[string]map[string]any) {
	t.Helper()
	var refs []string
	params := map[string]map[string]any{}
	for _, ev := range rule.NewIndex(set.Rules()).Evaluate(tr, noKV{}) {
		if !ev.Fires() {
			continue
		}
		refs = append(refs, ev.Rule.Ref)
		a, _ := set.Action(ev.Rule.Action.Ref)
		p, err := a.ResolveParams(ev.Params)
		if err != nil {
			t.Errorf("%s: %v", ev.Rule.Ref, err)
			continue
		}
		if _, err := Build(a, p, Settings{}); err != nil {
			t.Errorf("%s: %v", ev.Rule.Ref, err)
		}
		params[ev.Rule.Ref] = p
	}
	return refs, params
}

func TestAWSAlarmEventsFireTheirRules(t *testing.T) {
	set := shippedPacks(t)
	webTG := map[string]any{"TargetGroup": "targetgroup/web/73e2d6bc24d8a067", "LoadBalancer": "app/web/50dc6c495c0c9188"}
	cases := []struct {
		event, rule string
		want        map[string]any
	}{
		{"rds-cpu-utilization", "aws_rds.escalate_rds_alarm_with_evidence", map[string]any{"service": "rds", "namespace": "AWS/RDS", "metric_name": "CPUUtilization",
			"dimensions": map[string]any{"DBInstanceIdentifier": "orders-db"}, "statistic": "Average", "threshold": 90, "comparison": "GreaterThanThreshold",
			"alarm_name": "orders-db-cpu-high", "region": "us-east-1", "account": "123456789012", "fix": "none"}},
		{"rds-free-storage-space", "aws_rds.offer_storage_autoscaling_on_low_storage", map[string]any{"db_instance": "orders-db", "fix": "rds_storage_autoscaling",
			"approval_required": true, "comparison": "LessThanThreshold", "max_allocated_storage_gib": 1000}},
		{"rds-cluster-free-storage-space", "aws_rds.escalate_cluster_storage_with_evidence", map[string]any{"dimensions": map[string]any{"DBClusterIdentifier": "orders-cluster"}}},
		{"alb-unhealthy-host-count", "aws_elb.heal_unhealthy_targets_on_alarm", map[string]any{"target_group": "targetgroup/web/73e2d6bc24d8a067",
			"region": "us-east-1", "account": "123456789012", "max_targets": 5}},
		{"alb-elb-5xx-count", "aws_elb.escalate_elb_alarm_with_evidence", map[string]any{"service": "elb", "dimensions": map[string]any{"LoadBalancer": webTG["LoadBalancer"]}, "statistic": "Sum"}},
		{"lambda-errors", "aws_lambda.escalate_lambda_alarm_with_evidence", map[string]any{"metric_name": "Errors", "statistic": "Sum"}},
		{"lambda-throttles", "aws_lambda.offer_reserved_concurrency_on_throttles", map[string]any{"function_name": "resize", "fix": "lambda_reserved_concurrency", "reserved_concurrency": 100}},
		{"lambda-account-throttles", "aws_lambda.escalate_account_throttles_with_evidence", map[string]any{"dimensions": map[string]any{}, "fix": "none"}},
		{"sqs-dlq-messages-visible", "aws_sqs.offer_redrive_when_messages_wait", map[string]any{"service": "sqs", "fix": "sqs_redrive", "dimensions": map[string]any{"QueueName": "orders-dlq"}}},
		{"sqs-age-of-oldest-message", "aws_sqs.scale_consumer_on_old_messages", map[string]any{"service": "sqs", "metric_name": "ApproximateAgeOfOldestMessage",
			"fix": "sqs_scale_consumer", "approval_required": false, "scale_by": 1, "max_consumers": 20}},
		{"sqs-messages-not-visible", "aws_sqs.escalate_sqs_alarm_with_evidence", map[string]any{"service": "sqs"}},
		{"sns-notifications-failed", "aws_sqs.escalate_sns_alarm_with_evidence", map[string]any{"service": "sns", "namespace": "AWS/SNS", "dimensions": map[string]any{"TopicName": "alerts"}}},
		{"ecs-memory-utilization", "aws_ecs.escalate_ecs_alarm_with_evidence", map[string]any{"service": "ecs", "namespace": "AWS/ECS"}},
		{"ecs-running-task-count", "aws_ecs.offer_new_deployment_when_tasks_below_desired", map[string]any{"cluster": "prod", "ecs_service": "api", "fix": "ecs_force_deployment", "approval_required": true}},
		{"dynamodb-read-throttle-events", "aws_dynamodb.escalate_dynamodb_alarm_with_evidence", map[string]any{"service": "dynamodb", "dimensions": map[string]any{"TableName": "sessions"}}},
		{"elasticache-database-memory", "aws_elasticache.escalate_elasticache_alarm_with_evidence", map[string]any{"service": "elasticache", "threshold": 80}},
		{"apigateway-5xx-error", "aws_apigateway.escalate_apigateway_alarm_with_evidence", map[string]any{"service": "apigateway", "dimensions": map[string]any{"ApiName": "shop", "Stage": "prod"}}},
		{"ec2-cpu-credit-balance", "aws_ec2.escalate_cpu_credit_balance_with_evidence", map[string]any{"service": "ec2", "comparison": "LessThanThreshold"}},
		{"ec2-status-check-failed-attached-ebs", "aws_ec2.escalate_attached_ebs_check_with_evidence", map[string]any{"service": "ec2"}},
		{"ec2-status-check-failed", "aws_ec2.reboot_then_recover_on_status_check_failed", map[string]any{"instance_id": "i-0abc1234def567890", "poll_seconds": 30, "max_checks": 20}},
		{"ebs-burst-balance", "aws_ec2.escalate_ebs_alarm_with_evidence", map[string]any{"service": "ebs", "dimensions": map[string]any{"VolumeId": "vol-0a1b2c3d4e5f67890"}}},
		{"ebs-volume-queue-length", "aws_ec2.escalate_ebs_alarm_with_evidence", map[string]any{"service": "ebs", "metric_name": "VolumeQueueLength"}},
		{"autoscaling-group-in-service", "aws_ec2.escalate_unhealthy_group_with_evidence", map[string]any{"service": "autoscaling", "dimensions": map[string]any{"AutoScalingGroupName": "web"}}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		refs, params := fired(t, set, readAWSEvent(t, c.event))
		if !reflect.DeepEqual(refs, []string{c.rule}) {
			t.Errorf("%s fired %v, want exactly %s", c.event, refs, c.rule)
			continue
		}
		covered[c.rule] = true
		for k, v := range c.want {
			if !reflect.DeepEqual(params[c.rule][k], v) {
				t.Errorf("%s: %s = %#v (%T), want %#v", c.rule, k, params[c.rule][k], params[c.rule][k], v)
			}
		}
	}
	for _, r := range set.Rules() {
		if isAWSServicePack(r.Pack) && !covered[r.Ref] && !ec2ActionRules[r.Ref] {
			t.Errorf("%s: give it an event in events/aws and a case here", r.Ref)
		}
	}
}

// ec2ActionRules are the aws_ec2 rules tested in packs_test.go.
var ec2ActionRules = map[string]bool{"aws_ec2.reboot_on_instance_check_failed": true, "aws_ec2.recover_on_system_check_failed": true,
	"aws_ec2.scale_out_on_group_cpu": true}

func isAWSServicePack(name string) bool { return strings.HasPrefix(name, "aws_") }

// A resource id in each namespace's dimensions, for alarms built from the
// rules' metric lists.
var namespaceDims = map[string]map[string]any{
	"AWS/RDS": {"DBInstanceIdentifier": "db1"}, "AWS/ApplicationELB": {"LoadBalancer": "app/web/1", "TargetGroup": "targetgroup/web/0123456789abcdef"},
	"AWS/NetworkELB": {"LoadBalancer": "net/n/1", "TargetGroup": "targetgroup/n/0123456789abcdef"},
	"AWS/GatewayELB": {"LoadBalancer": "gwy/g/1", "TargetGroup": "targetgroup/g/0123456789abcdef"}, "AWS/Lambda": {"FunctionName": "f"}, "AWS/SQS": {"QueueName": "q"}, "AWS/SNS": {"TopicName": "t"},
	"AWS/ECS": {"ClusterName": "c", "ServiceName": "s"}, "ECS/ContainerInsights": {"ClusterName": "c", "ServiceName": "s"},
	"AWS/DynamoDB": {"TableName": "t"}, "AWS/ElastiCache": {"CacheClusterId": "c"}, "AWS/ApiGateway": {"ApiName": "a", "Stage": "p"},
	"AWS/EC2": {"InstanceId": "i-0a"}, "AWS/EBS": {"VolumeId": "vol-0a"}, "AWS/AutoScaling": {"AutoScalingGroupName": "g"},
}

// Every metric an aws_* rule lists, in every namespace it lists, fires
// exactly one shipped rule: no recommended alarm is handled twice (two
// executions on one alarm) or silently by a broader rule.
func TestEveryListedAWSMetricFiresExactlyOneRule(t *testing.T) {
	set := shippedPacks(t)
	n := 0
	for _, r := range set.Rules() {
		if !isAWSServicePack(r.Pack) {
			continue
		}
		namespaces, metrics := criterionValues(r, "trigger.namespace"), criterionValues(r, "trigger.metric_name")
		for _, ns := range namespaces {
			for _, m := range metrics {
				dims := map[string]any{}
				for k, v := range namespaceDims[ns] {
					dims[k] = v
				}
				tr := trigger.Trigger{ID: ns + " " + m, Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"state": "ALARM", "namespace": ns,
					"metric_name": m, "dimensions": dims, "alarm_name": "x", "region": "us-east-1", "account": "123456789012",
					"instance_id": dims["InstanceId"]}}
				refs, _ := fired(t, set, tr)
				if len(refs) != 1 {
					t.Errorf("%s %s fired %v, want exactly one rule", ns, m, refs)
				}
				n++
			}
		}
	}
	if n < 150 {
		t.Errorf("only %d (namespace, metric) pairs listed", n)
	}
}

func criterionValues(r *rule.Rule, key string) []string {
	for _, c := range r.Criteria {
		if c.Key != key {
			continue
		}
		switch p := c.Pattern.(type) {
		case string:
			return []string{p}
		case []any:
			var out []string
			for _, v := range p {
				out = append(out, v.(string))
			}
			return out
		}
	}
	return nil
}

// Alert fields are attacker-written: a dimension value that is not a name
// the service accepts does not fire the fix rules at all (the evidence
// rules pass it only as an AWS API parameter, never to a shell).
func TestHostileDimensionValuesDoNotFireFixRules(t *testing.T) {
	set := shippedPacks(t)
	hostile := []string{"x; rm -rf /", "$(reboot)", "`id`", "a\nb", "../../etc", strings.Repeat("a", 300), "name with space", "'quoted'"}
	fixes := []struct{ namespace, metric, dim string }{
		{"AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier"},
		{"AWS/Lambda", "Throttles", "FunctionName"},
		{"AWS/ApplicationELB", "UnHealthyHostCount", "TargetGroup"},
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"},
		{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName"},
		{"ECS/ContainerInsights", "RunningTaskCount", "ServiceName"},
		{"ECS/ContainerInsights", "RunningTaskCount", "ClusterName"},
	}
	for _, f := range fixes {
		for _, bad := range hostile {
			dims := map[string]any{}
			for k, v := range namespaceDims[f.namespace] {
				dims[k] = v
			}
			dims[f.dim] = bad
			tr := trigger.Trigger{ID: "h", Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"state": "ALARM", "namespace": f.namespace,
				"metric_name": f.metric, "dimensions": dims, "alarm_name": "x", "region": "us-east-1", "account": "123456789012"}}
			refs, params := fired(t, set, tr)
			for _, ref := range refs {
				if _, isFix := params[ref]["fix"]; !isFix || params[ref]["fix"] != "none" {
					t.Errorf("%s %s=%q fired the fix rule %s", f.metric, f.dim, bad, ref)
				}
			}
		}
	}
}

// Planning refuses the hostile values of every name parameter (the
// simulated services refuse them too): each refusal names the parameter.
func TestAWSNameParametersRefuseHostileValues(t *testing.T) {
	// (A leading "-" or a "/" are legal in these AWS names and harmless:
	// the values only ever travel as AWS API parameters.)
	hostile := []string{"", "x; rm -rf /", "$(reboot)", "`id`", "a\nb", strings.Repeat("a", 300), "name with space", "'q'", "a\x00b"}
	checked := 0
	for _, a := range shippedPacks(t).Actions() {
		if !strings.HasPrefix(a.Ref, "aws_") {
			continue
		}
		for _, name := range []string{"db_instance", "function_name", "cluster", "ecs_service", "region", "account", "metric_name", "statistic", "target_group", "instance_id"} {
			if _, ok := a.Parameters[name]; !ok {
				continue
			}
			checked++
			for _, bad := range hostile {
				if bad == "" && name == "statistic" {
					continue // empty is a metric math alarm's statistic: Average
				}
				_, err := a.ResolveParams(map[string]any{name: bad})
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("parameter %q", name)) {
					t.Errorf("%s %s: %q not refused by name: %v", a.Ref, name, bad, err)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d name parameters found", checked)
	}
}
