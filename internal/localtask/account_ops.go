package localtask

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CloudWatch

// GetMetricData answers the first query's MetricStat: the series with the
// same namespace, name and dimensions, newest value first, one per Period
// back from EndTime. An unknown metric has no values (CloudWatch does not
// fail for metrics nobody published).
func (a *Account) GetMetricData(input any) (any, error) {
	var in struct {
		MetricDataQueries []struct {
			ID         string `json:"Id"`
			MetricStat struct {
				Metric struct {
					Namespace, MetricName string
					Dimensions            []struct{ Name, Value string }
				}
				Period int
				Stat   string
			}
		}
		EndTime string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if len(in.MetricDataQueries) == 0 {
		return nil, serviceError("CloudWatch", "CloudWatchException", "ValidationError", "The parameter MetricDataQueries is required.")
	}
	q := in.MetricDataQueries[0]
	end, err := time.Parse(time.RFC3339Nano, in.EndTime)
	if err != nil || q.MetricStat.Period <= 0 {
		return nil, serviceError("CloudWatch", "InvalidParameterValueException", "InvalidParameterValue", "EndTime %q and Period %d must be a timestamp and a positive number of seconds", in.EndTime, q.MetricStat.Period)
	}
	dims := map[string]string{}
	for _, d := range q.MetricStat.Metric.Dimensions {
		dims[d.Name] = d.Value
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	values, stamps := []any{}, []any{}
	if s := a.series(q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, dims); s != nil {
		vs := s.Values
		if a.isFixed(s.Dimensions) && s.AfterFix != nil {
			vs = s.AfterFix
		}
		for i := len(vs) - 1; i >= 0; i-- {
			back := time.Duration(len(vs)-1-i) * time.Duration(q.MetricStat.Period) * time.Second
			values = append(values, vs[i])
			stamps = append(stamps, end.Add(-back).UTC().Format(time.RFC3339))
		}
	}
	return map[string]any{"MetricDataResults": []any{map[string]any{
		"Id": q.ID, "Label": q.MetricStat.Metric.MetricName, "Values": values, "Timestamps": stamps, "StatusCode": "Complete",
	}}, "Messages": []any{}}, nil
}

func (a *Account) series(namespace, name string, dims map[string]string) *series {
	for _, s := range a.metrics {
		if s.Namespace == namespace && s.Name == name && sameDims(s.Dimensions, dims) {
			return s
		}
	}
	return nil
}

func sameDims(x, y map[string]string) bool {
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if y[k] != v {
			return false
		}
	}
	return true
}

func (a *Account) isFixed(dims map[string]string) bool {
	for _, v := range dims {
		if a.fixed[v] {
			return true
		}
	}
	return false
}

// DescribeAlarmHistory returns the named alarm's state updates, newest first.
func (a *Account) DescribeAlarmHistory(input any) (any, error) {
	var in struct {
		AlarmName  string
		MaxRecords int
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	items := []any{}
	for _, al := range a.file.Alarms {
		if al.Name != in.AlarmName {
			continue
		}
		for i, summary := range al.History {
			if in.MaxRecords > 0 && i >= in.MaxRecords {
				break
			}
			items = append(items, map[string]any{"AlarmName": al.Name, "AlarmType": "MetricAlarm", "HistoryItemType": "StateUpdate",
				"HistorySummary": summary, "Timestamp": time.Unix(0, 0).Add(-time.Duration(i) * time.Hour).UTC().Format(time.RFC3339)})
		}
	}
	return map[string]any{"AlarmHistoryItems": items}, nil
}

// DescribeAlarms lists metric alarms, filtered by StateValue.
func (a *Account) DescribeAlarms(input any) (any, error) {
	var in struct{ StateValue string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	alarms := []any{}
	for _, al := range a.file.Alarms {
		if in.StateValue != "" && al.State != in.StateValue {
			continue
		}
		dims := []any{}
		for k, v := range al.Dimensions {
			dims = append(dims, map[string]any{"Name": k, "Value": v})
		}
		alarms = append(alarms, map[string]any{"AlarmName": al.Name, "StateValue": al.State, "Namespace": al.Namespace,
			"MetricName": al.Metric, "Dimensions": dims, "StateReason": al.Reason, "StateUpdatedTimestamp": time.Unix(0, 0).UTC().Format(time.RFC3339)})
	}
	return map[string]any{"MetricAlarms": alarms, "CompositeAlarms": []any{}}, nil
}

// RDS

func (a *Account) db(id string) (*dbInstance, error) {
	if d := a.dbs[id]; d != nil {
		return d, nil
	}
	return nil, serviceError("Rds", "DbInstanceNotFoundException", "DBInstanceNotFound", "DBInstance %s not found.", id)
}

func or0(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// DescribeDBInstances describes one instance (DBInstanceIdentifier).
func (a *Account) DescribeDBInstances(input any) (any, error) {
	var in struct{ DBInstanceIdentifier string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	d, err := a.db(in.DBInstanceIdentifier)
	if err != nil {
		return nil, err
	}
	view := map[string]any{"DBInstanceIdentifier": d.ID, "DBInstanceClass": or(d.Class, "db.t3.micro"), "Engine": or(d.Engine, "postgres"),
		"DBInstanceStatus": d.Status, "AllocatedStorage": float64(d.AllocatedStorage), "StorageType": "gp3", "MultiAZ": false,
		"PendingModifiedValues": map[string]any{}}
	if d.MaxAllocatedStorage > 0 {
		view["MaxAllocatedStorage"] = float64(d.MaxAllocatedStorage)
	}
	return map[string]any{"DBInstances": []any{view}}, nil
}

// DescribeDBClusters knows no clusters: the simulation models instances.
func (a *Account) DescribeDBClusters(input any) (any, error) {
	var in struct{ DBClusterIdentifier string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	return nil, serviceError("Rds", "DbClusterNotFoundException", "DBClusterNotFoundFault", "DBCluster %s not found.", in.DBClusterIdentifier)
}

// ModifyDBInstance sets MaxAllocatedStorage (storage autoscaling), which RDS
// accepts only at least 10% above the allocated storage and at most 65536.
func (a *Account) ModifyDBInstance(input any) (any, error) {
	var in struct {
		DBInstanceIdentifier string
		MaxAllocatedStorage  *int
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	d, err := a.db(in.DBInstanceIdentifier)
	if err != nil {
		return nil, err
	}
	if in.MaxAllocatedStorage != nil {
		m := *in.MaxAllocatedStorage
		if m*10 < d.AllocatedStorage*11 || m > 65536 {
			return nil, serviceError("Rds", "InvalidParameterCombinationException", "InvalidParameterCombination",
				"Max storage size must be greater than storage size by at least 10%% (allocated %d GiB, asked %d GiB) and at most 65536", d.AllocatedStorage, m)
		}
		d.MaxAllocatedStorage = m
		a.fixed[d.ID] = true
	}
	return map[string]any{"DBInstance": map[string]any{"DBInstanceIdentifier": d.ID}}, nil
}

// Elastic Load Balancing v2

func (a *Account) DescribeTargetHealth(input any) (any, error) {
	var in struct{ TargetGroupArn string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	prefix := "arn:aws:elasticloadbalancing:" + a.region() + ":" + a.account() + ":"
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tg := range a.file.TargetGroups {
		if in.TargetGroupArn != prefix+tg.Name {
			continue
		}
		if tg.AutoScalingGroup != "" && a.fleet != nil {
			return map[string]any{"TargetHealthDescriptions": a.fleet.groupTargets(tg.AutoScalingGroup, tg.Port, a.down)}, nil
		}
		out := []any{}
		for _, t := range tg.Targets {
			health := map[string]any{"State": or(t.State, "healthy")}
			if t.Reason != "" {
				health["Reason"] = t.Reason
			}
			out = append(out, map[string]any{"Target": map[string]any{"Id": t.ID, "Port": float64(t.Port)}, "TargetHealth": health})
		}
		return map[string]any{"TargetHealthDescriptions": out}, nil
	}
	return nil, serviceError("ElasticLoadBalancingV2", "TargetGroupNotFoundException", "TargetGroupNotFound", "Target groups '%s' not found", in.TargetGroupArn)
}

// DescribeTags reports target groups' tags (medic:service names the
// service their targets run).
func (a *Account) DescribeTags(input any) (any, error) {
	var in struct{ ResourceArns []string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	prefix := "arn:aws:elasticloadbalancing:" + a.region() + ":" + a.account() + ":"
	out := []any{}
	for _, arn := range in.ResourceArns {
		for _, tg := range a.file.TargetGroups {
			if arn != prefix+tg.Name {
				continue
			}
			tags := []any{}
			for _, k := range sortedKeys(tg.Tags) {
				tags = append(tags, map[string]any{"Key": k, "Value": tg.Tags[k]})
			}
			out = append(out, map[string]any{"ResourceArn": arn, "Tags": tags})
		}
	}
	if len(out) != len(in.ResourceArns) {
		return nil, serviceError("ElasticLoadBalancingV2", "TargetGroupNotFoundException", "TargetGroupNotFound", "One or more target groups not found")
	}
	return map[string]any{"TagDescriptions": out}, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DeregisterTargets removes targets of a group that lists them (a group
// attached to an Auto Scaling group deregisters its members itself).
func (a *Account) DeregisterTargets(input any) (any, error) {
	var in struct {
		TargetGroupArn string
		Targets        []struct{ Id string }
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prefix := "arn:aws:elasticloadbalancing:" + a.region() + ":" + a.account() + ":"
	for i := range a.file.TargetGroups {
		tg := &a.file.TargetGroups[i]
		if in.TargetGroupArn != prefix+tg.Name {
			continue
		}
		keep := tg.Targets[:0]
		for _, t := range tg.Targets {
			gone := false
			for _, d := range in.Targets {
				gone = gone || d.Id == t.ID
			}
			if !gone {
				keep = append(keep, t)
			}
		}
		tg.Targets = keep
		return map[string]any{}, nil
	}
	return nil, serviceError("ElasticLoadBalancingV2", "TargetGroupNotFoundException", "TargetGroupNotFound", "Target groups '%s' not found", in.TargetGroupArn)
}

func (a *Account) DescribeLoadBalancers(input any) (any, error) {
	var in struct{ LoadBalancerArns []string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	prefix := "arn:aws:elasticloadbalancing:" + a.region() + ":" + a.account() + ":loadbalancer/"
	out := []any{}
	for _, arn := range in.LoadBalancerArns {
		found := false
		for _, lb := range a.file.Balancers {
			if arn == prefix+lb.Name {
				found = true
				parts := strings.Split(lb.Name, "/")
				out = append(out, map[string]any{"LoadBalancerArn": arn, "LoadBalancerName": parts[len(parts)/2], "Type": or(lb.Type, "application"),
					"Scheme": "internet-facing", "State": map[string]any{"Code": "active"}, "AvailabilityZones": []any{map[string]any{"ZoneName": "us-east-1a"}}})
			}
		}
		if !found {
			return nil, serviceError("ElasticLoadBalancingV2", "LoadBalancerNotFoundException", "LoadBalancerNotFound", "Load balancers '[%s]' not found", arn)
		}
	}
	return map[string]any{"LoadBalancers": out}, nil
}

// Lambda

func (a *Account) function(name string) (*function, error) {
	if !functionName.MatchString(name) {
		return nil, serviceError("Lambda", "LambdaException", "ValidationException", "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint", name)
	}
	if f := a.functions[name]; f != nil {
		return f, nil
	}
	return nil, serviceError("Lambda", "ResourceNotFoundException", "ResourceNotFoundException", "Function not found: arn:aws:lambda:%s:%s:function:%s", a.region(), a.account(), name)
}

func (a *Account) GetFunctionConfiguration(input any) (any, error) {
	var in struct{ FunctionName string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := a.function(in.FunctionName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"FunctionName": f.Name, "Runtime": or(f.Runtime, "python3.12"), "Timeout": float64(f.Timeout), "MemorySize": float64(f.MemorySize),
		"State": "Active", "LastUpdateStatus": "Successful", "Version": "$LATEST", "LastModified": "2026-11-20T10:00:00.000+0000"}, nil
}

// GetAccountSettings reports the concurrency limit and what reservations
// leave unreserved.
func (a *Account) GetAccountSettings(any) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	limit := or0(a.file.LambdaConcurrency, 1000)
	return map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": float64(limit),
		"UnreservedConcurrentExecutions": float64(limit - a.reserved(""))}}, nil
}

// reserved sums the reservations of every function but except.
func (a *Account) reserved(except string) int {
	n := 0
	for _, f := range a.functions {
		if f.ReservedConcurrency != nil && f.Name != except {
			n += *f.ReservedConcurrency
		}
	}
	return n
}

// PutFunctionConcurrency reserves concurrency; the function's metrics then
// read after_fix (throttling stops when the reservation covers the load).
func (a *Account) PutFunctionConcurrency(input any) (any, error) {
	var in struct {
		FunctionName                 string
		ReservedConcurrentExecutions *int
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := a.function(in.FunctionName)
	if err != nil {
		return nil, err
	}
	if in.ReservedConcurrentExecutions == nil || *in.ReservedConcurrentExecutions < 0 {
		return nil, serviceError("Lambda", "InvalidParameterValueException", "InvalidParameterValueException", "ReservedConcurrentExecutions must be a number >= 0")
	}
	n := *in.ReservedConcurrentExecutions
	if limit := or0(a.file.LambdaConcurrency, 1000); limit-a.reserved(f.Name)-n < 100 {
		return nil, serviceError("Lambda", "InvalidParameterValueException", "InvalidParameterValueException",
			"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
	}
	f.ReservedConcurrency = &n
	a.fixed[f.Name] = true
	return map[string]any{"ReservedConcurrentExecutions": float64(n)}, nil
}

// SQS

func (a *Account) queueURL(name string) string {
	return "https://sqs." + a.region() + ".amazonaws.com/" + a.account() + "/" + name
}

func (a *Account) queueARN(name string) string {
	return "arn:aws:sqs:" + a.region() + ":" + a.account() + ":" + name
}

func (a *Account) queueBy(match func(*queue) bool, what string) (*queue, error) {
	for _, q := range a.queues {
		if match(q) {
			return q, nil
		}
	}
	return nil, serviceError("Sqs", "QueueDoesNotExistException", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist (%s)", what)
}

func (a *Account) GetQueueURL(input any) (any, error) {
	var in struct{ QueueName string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, err := a.queueBy(func(q *queue) bool { return q.Name == in.QueueName }, in.QueueName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"QueueUrl": a.queueURL(q.Name)}, nil
}

// GetQueueAttributes reports the queue's counts (as strings, like SQS) and
// its redrive policy. A redrive in progress completes at this observation.
func (a *Account) GetQueueAttributes(input any) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, err := a.queueBy(func(q *queue) bool { return a.queueURL(q.Name) == in.QueueUrl }, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if q.moving {
		q.moving = false
		if !q.RedriveFails {
			q.Messages = 0
		}
	}
	attrs := map[string]any{"QueueArn": a.queueARN(q.Name), "ApproximateNumberOfMessages": strconv.Itoa(q.Messages),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(q.InFlight), "VisibilityTimeout": "30", "MessageRetentionPeriod": "345600"}
	if q.DeadLetter != "" {
		attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":5}`, a.queueARN(q.DeadLetter))
	}
	return map[string]any{"Attributes": attrs}, nil
}

// StartMessageMoveTask redrives a dead-letter queue to its source queues;
// SQS refuses a source that is no queue's dead-letter queue.
func (a *Account) StartMessageMoveTask(input any) (any, error) {
	var in struct{ SourceArn string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, err := a.queueBy(func(q *queue) bool { return a.queueARN(q.Name) == in.SourceArn }, in.SourceArn)
	if err != nil {
		return nil, err
	}
	if _, err := a.queueBy(func(src *queue) bool { return src.DeadLetter == q.Name }, "a source of "+q.Name); err != nil {
		return nil, serviceError("Sqs", "UnsupportedOperationException", "AWS.SimpleQueueService.UnsupportedOperation", "Source queue must be configured as a Dead Letter Queue.")
	}
	q.moving = true
	return map[string]any{"TaskHandle": "local-move-" + q.Name}, nil
}

// ListDeadLetterSourceQueues lists the queues whose redrive policy targets
// this one: empty for a queue that is no dead-letter queue.
func (a *Account) ListDeadLetterSourceQueues(input any) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	dlq, err := a.queueBy(func(q *queue) bool { return a.queueURL(q.Name) == in.QueueUrl }, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	urls := []any{}
	for _, name := range a.sortedQueues() {
		if a.queues[name].DeadLetter == dlq.Name {
			urls = append(urls, a.queueURL(name))
		}
	}
	return map[string]any{"QueueUrls": urls}, nil
}

func (a *Account) sortedQueues() []string {
	var names []string
	for name := range a.queues {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ListQueueTags returns the queue's tags (medic:consumer names its consumer).
func (a *Account) ListQueueTags(input any) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, err := a.queueBy(func(q *queue) bool { return a.queueURL(q.Name) == in.QueueUrl }, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	tags := map[string]any{}
	for k, v := range q.Tags {
		tags[k] = v
	}
	return map[string]any{"Tags": tags}, nil
}

// ConsumerTag is the queue tag that names the queue's consumer.
const ConsumerTag = "medic:consumer"

// ConsumerScaled records that the consumer ref ("ecs:CLUSTER/SERVICE" or
// "asg:GROUP") grew: the metrics of the queues it consumes read after_fix.
func (a *Account) ConsumerScaled(ref string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.consumerScaled(ref)
}

func (a *Account) consumerScaled(ref string) {
	for _, q := range a.queues {
		if q.Tags[ConsumerTag] == ref {
			a.fixed[q.Name] = true
		}
	}
}

// SNS

func (a *Account) GetTopicAttributes(input any) (any, error) {
	var in struct{ TopicArn string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	for _, t := range a.file.Topics {
		arn := "arn:aws:sns:" + a.region() + ":" + a.account() + ":" + t.Name
		if arn == in.TopicArn {
			return map[string]any{"Attributes": map[string]any{"TopicArn": arn, "SubscriptionsConfirmed": strconv.Itoa(t.Confirmed),
				"SubscriptionsPending": "0", "SubscriptionsDeleted": "0"}}, nil
		}
	}
	return nil, serviceError("Sns", "NotFoundException", "NotFound", "Topic does not exist")
}

// ECS

func deployment(id, status, rollout string, desired, running, failed int) map[string]any {
	return map[string]any{"Id": id, "Status": status, "RolloutState": rollout, "DesiredCount": float64(desired),
		"RunningCount": float64(running), "FailedTasks": float64(failed), "TaskDefinition": "arn:aws:ecs:local:000000000000:task-definition/app:7"}
}

func (a *Account) ecsService(cluster, name string) (*ecsService, error) {
	if !ecsName.MatchString(cluster) || !ecsName.MatchString(name) {
		return nil, serviceError("Ecs", "InvalidParameterException", "InvalidParameterException", "Invalid identifier: cluster %q, service %q", cluster, name)
	}
	if s := a.services[cluster+"/"+name]; s != nil {
		return s, nil
	}
	for _, s := range a.services {
		if s.Cluster == cluster {
			return nil, serviceError("Ecs", "ServiceNotFoundException", "ServiceNotFoundException", "Service not found.")
		}
	}
	return nil, serviceError("Ecs", "ClusterNotFoundException", "ClusterNotFoundException", "Cluster not found.")
}

// DescribeServices describes one service. A deployment in progress ends at
// this observation: COMPLETED with every task running, or FAILED when
// deployment_fails (the new tasks crash like the old).
func (a *Account) DescribeServices(input any) (any, error) {
	var in struct {
		Cluster  string
		Services []string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(in.Services) != 1 {
		return nil, serviceError("Ecs", "InvalidParameterException", "InvalidParameterException", "the simulation describes one service at a time")
	}
	s, err := a.ecsService(in.Cluster, in.Services[0])
	if err != nil {
		return map[string]any{"Services": []any{}, "Failures": []any{map[string]any{"Arn": in.Services[0], "Reason": "MISSING"}}}, nil
	}
	if s.deploying {
		s.deploying = false
		if s.DeploymentFails {
			s.deployments[0]["RolloutState"], s.deployments[0]["FailedTasks"] = "FAILED", float64(s.Desired)
		} else {
			s.Running = s.Desired
			s.deployments = []map[string]any{deployment(s.deployments[0]["Id"].(string), "PRIMARY", "COMPLETED", s.Desired, s.Desired, 0)}
			a.fixed[s.Name] = true
		}
	}
	deps, events := []any{}, []any{}
	for _, d := range s.deployments {
		deps = append(deps, d)
	}
	for _, e := range s.Events {
		events = append(events, map[string]any{"CreatedAt": "2026-11-25T09:00:00Z", "Message": e})
	}
	return map[string]any{"Services": []any{map[string]any{"ServiceName": s.Name, "Status": "ACTIVE", "DesiredCount": float64(s.Desired),
		"RunningCount": float64(s.Running), "PendingCount": float64(0), "Deployments": deps, "Events": events}}, "Failures": []any{}}, nil
}

// UpdateService forces a new deployment (and/or sets DesiredCount).
func (a *Account) UpdateService(input any) (any, error) {
	var in struct {
		Cluster, Service   string
		ForceNewDeployment bool
		DesiredCount       *int
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, err := a.ecsService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if in.DesiredCount != nil {
		if *in.DesiredCount < 0 {
			return nil, serviceError("Ecs", "InvalidParameterException", "InvalidParameterException", "desiredCount must be >= 0")
		}
		if *in.DesiredCount > s.Desired {
			a.consumerScaled("ecs:" + s.Cluster + "/" + s.Name)
		}
		s.Desired = *in.DesiredCount
	}
	if in.ForceNewDeployment || in.DesiredCount != nil {
		old := s.deployments[0]
		old["Status"] = "ACTIVE"
		s.deployments = []map[string]any{deployment(fmt.Sprintf("ecs-svc/%d", len(s.deployments)+1), "PRIMARY", "IN_PROGRESS", s.Desired, 0, 0), old}
		s.deploying = true
	}
	return map[string]any{"Service": map[string]any{"ServiceName": s.Name}}, nil
}

// DynamoDB, ElastiCache, API Gateway, EBS: read-only descriptions.

func (a *Account) DescribeTable(input any) (any, error) {
	var in struct{ TableName string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	for _, t := range a.file.Tables {
		if t.Name == in.TableName {
			return map[string]any{"Table": map[string]any{"TableName": t.Name, "TableStatus": "ACTIVE",
				"BillingModeSummary":    map[string]any{"BillingMode": or(t.Mode, "PROVISIONED")},
				"ProvisionedThroughput": map[string]any{"ReadCapacityUnits": float64(t.Read), "WriteCapacityUnits": float64(t.Write)}}}, nil
		}
	}
	return nil, serviceError("DynamoDb", "ResourceNotFoundException", "ResourceNotFoundException", "Requested resource not found: Table: %s not found", in.TableName)
}

func (a *Account) DescribeCacheClusters(input any) (any, error) {
	var in struct{ CacheClusterId string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	for _, c := range a.file.Caches {
		if c.ID == in.CacheClusterId {
			return map[string]any{"CacheClusters": []any{map[string]any{"CacheClusterId": c.ID, "CacheNodeType": c.NodeType,
				"Engine": or(c.Engine, "redis"), "CacheClusterStatus": "available", "NumCacheNodes": float64(c.Nodes)}}}, nil
		}
	}
	return nil, serviceError("ElastiCache", "CacheClusterNotFoundException", "CacheClusterNotFound", "CacheCluster not found: %s", in.CacheClusterId)
}

func (a *Account) GetRestApis(input any) (any, error) {
	items := []any{}
	for _, api := range a.file.RestAPIs {
		items = append(items, map[string]any{"Id": api.ID, "Name": api.Name})
	}
	return map[string]any{"Items": items}, nil
}

func stage(apis []api, id, name, svc string) (any, error) {
	for _, api := range apis {
		for _, s := range api.Stages {
			if api.ID == id && s == name {
				return map[string]any{"StageName": s, "DeploymentId": "dep1", "LastUpdatedDate": "2026-11-20T10:00:00Z"}, nil
			}
		}
	}
	return nil, serviceError(svc, "NotFoundException", "NotFoundException", "Invalid stage identifier specified")
}

func (a *Account) GetRestAPIStage(input any) (any, error) {
	var in struct{ RestApiId, StageName string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	return stage(a.file.RestAPIs, in.RestApiId, in.StageName, "ApiGateway")
}

func (a *Account) GetHTTPAPIStage(input any) (any, error) {
	var in struct{ ApiId, StageName string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	return stage(a.file.HTTPAPIs, in.ApiId, in.StageName, "ApiGatewayV2")
}

func (a *Account) DescribeVolumes(input any) (any, error) {
	var in struct{ VolumeIds []string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	out := []any{}
	for _, id := range in.VolumeIds {
		found := false
		for _, v := range a.file.Volumes {
			if v.ID == id {
				found = true
				out = append(out, map[string]any{"VolumeId": v.ID, "VolumeType": or(v.Type, "gp2"), "Size": float64(v.Size), "Iops": float64(v.Iops), "State": "in-use"})
			}
		}
		if !found {
			return nil, ec2Error("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	}
	return map[string]any{"Volumes": out}, nil
}
