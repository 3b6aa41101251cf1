package localtask_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/localtask"
)

func TestParseAccountNamesTheBadField(t *testing.T) {
	cases := map[string]string{
		"lambda_functions:\n  - {name: 'a;b'}\n":                             "lambda_functions[0].name",
		"rds_instances:\n  - {id: 1db}\n":                                    "rds_instances[0].id",
		"sqs_queues:\n  - {name: 'q q'}\n":                                   "sqs_queues[0].name",
		"ecs_services:\n  - {cluster: c, name: s, desired: 1, running: 2}\n": "ecs_services[0]",
		"metrics:\n  - {name: CPUUtilization}\n":                             "metrics[0]",
		"lambda_function:\n  - {name: f}\n":                                  "field lambda_function not found",
	}
	for file, want := range cases {
		if _, err := localtask.ParseAccount([]byte(file)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want it to name %s", file, err, want)
		}
	}
}

func TestOpenAccountReadsTheStateDir(t *testing.T) {
	dir := t.TempDir()
	a, err := localtask.OpenAccount(dir)
	if err != nil {
		t.Fatal(err)
	}
	// No file: an empty account, every resource unknown.
	if _, err := a.GetFunctionConfiguration(map[string]any{"FunctionName": "f"}); err == nil || !strings.Contains(err.Error(), "Function not found") {
		t.Fatalf("empty account: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "account.json"), []byte(`{"lambda_functions": [{"name": "f", "timeout": 3}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err = localtask.OpenAccount(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.GetFunctionConfiguration(map[string]any{"FunctionName": "f"})
	if err != nil || out.(map[string]any)["Timeout"] != 3.0 {
		t.Fatalf("%v %v", out, err)
	}
}

// The simulated services refuse what AWS refuses, with the integration's
// error names.
func TestAccountRefusesLikeTheServices(t *testing.T) {
	a, err := localtask.ParseAccount([]byte(accountFile))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		call func(any) (any, error)
		in   map[string]any
		want string
	}{
		{a.GetMetricData, map[string]any{"MetricDataQueries": []any{}}, "CloudWatch.CloudWatchException"},
		{a.GetMetricData, map[string]any{"MetricDataQueries": []any{map[string]any{"Id": "m", "MetricStat": map[string]any{"Period": 60}}}, "EndTime": "yesterday"}, "CloudWatch.InvalidParameterValueException"},
		{a.ModifyDBInstance, map[string]any{"DBInstanceIdentifier": "orders-db", "MaxAllocatedStorage": 105}, "Rds.InvalidParameterCombinationException"},
		{a.ModifyDBInstance, map[string]any{"DBInstanceIdentifier": "nope", "MaxAllocatedStorage": 500}, "Rds.DbInstanceNotFoundException"},
		{a.PutFunctionConcurrency, map[string]any{"FunctionName": "resize; rm -rf /", "ReservedConcurrentExecutions": 5}, "Lambda.LambdaException"},
		{a.PutFunctionConcurrency, map[string]any{"FunctionName": "resize", "ReservedConcurrentExecutions": -1}, "Lambda.InvalidParameterValueException"},
		{a.PutFunctionConcurrency, map[string]any{"FunctionName": "resize", "ReservedConcurrentExecutions": 950}, "Lambda.InvalidParameterValueException"},
		{a.StartMessageMoveTask, map[string]any{"SourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}, "Sqs.UnsupportedOperationException"},
		{a.GetQueueURL, map[string]any{"QueueName": "nope"}, "Sqs.QueueDoesNotExistException"},
		{a.UpdateService, map[string]any{"Cluster": "prod", "Service": "api$(id)", "ForceNewDeployment": true}, "Ecs.InvalidParameterException"},
		{a.UpdateService, map[string]any{"Cluster": "nope", "Service": "api", "ForceNewDeployment": true}, "Ecs.ClusterNotFoundException"},
		{a.DescribeTargetHealth, map[string]any{"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/1"}, "ElasticLoadBalancingV2.TargetGroupNotFoundException"},
	}
	for _, c := range cases {
		_, err := c.call(c.in)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %s", c.in, err, c.want)
		}
	}
}
