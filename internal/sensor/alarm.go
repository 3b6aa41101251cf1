package sensor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// alarm is the one model the three CloudWatch alarm shapes are read into, so
// that the aws.cloudwatch.alarm payload is built in exactly one place.
type alarm struct {
	account       string
	region        string
	name          string
	arn           string
	description   string
	state         string
	previousState string
	reason        string
	reasonData    string // raw JSON text, as CloudWatch sends it
	time          time.Time
	metrics       []metric
	statistic     string
	threshold     *float64
	comparison    string
	alarmRule     string
	composite     bool
	children      []string // ARNs of the child alarms that triggered a composite
}

// metric is one metric an alarm watches (metric math alarms watch several).
type metric struct {
	name       string
	namespace  string
	stat       string
	dimensions map[string]string
	returnData bool
}

var alarmStates = map[string]bool{"ALARM": true, "OK": true, "INSUFFICIENT_DATA": true}

// check enforces what every rule relies on. field names the shape's JSON
// path to each value so the error points into the body that was sent.
func (a *alarm) check(fields alarmFields) error {
	switch {
	case a.name == "":
		return fieldErr(fields.name, "is missing or empty")
	case !alarmStates[a.state]:
		return fieldErr(fields.state, "is %q, want ALARM, OK or INSUFFICIENT_DATA", a.state)
	case a.previousState != "" && !alarmStates[a.previousState]:
		return fieldErr(fields.previousState, "is %q, want ALARM, OK or INSUFFICIENT_DATA", a.previousState)
	case a.region == "":
		return fieldErr(fields.region, "is missing: cannot tell the alarm's region")
	case !regionCodePattern.MatchString(a.region):
		// Rules and targets use the region; a sender cannot make it text.
		return fieldErr(fields.region, "is %.40q, not an AWS region code like us-east-1", a.region)
	}
	return nil
}

// alarmFields are the JSON paths of an alarm's required fields in one shape.
type alarmFields struct{ name, state, previousState, region string }

// toTrigger builds the aws.cloudwatch.alarm trigger.
func (a *alarm) toTrigger(id, source string) trigger.Trigger {
	return trigger.Trigger{
		ID:      id,
		Type:    trigger.TypeCloudWatchAlarm,
		Source:  source,
		Time:    a.time,
		Payload: a.payload(),
	}
}

func (a *alarm) payload() map[string]any {
	m := a.primaryMetric()
	dims := map[string]any{}
	for k, v := range m.dimensions {
		dims[k] = v
	}
	var threshold any
	if a.threshold != nil {
		threshold = *a.threshold
	}
	statistic := a.statistic
	if statistic == "" {
		statistic = m.stat
	}
	comparison := a.comparison
	if comparison == "" && !a.composite {
		comparison = comparisonFromReason(a.reason)
	}
	return map[string]any{
		"account":        a.account,
		"region":         a.region,
		"alarm_name":     a.name,
		"alarm_arn":      a.arn,
		"description":    a.description,
		"state":          a.state,
		"previous_state": a.previousState,
		"reason":         a.reason,
		"reason_data":    parseReasonData(a.reasonData),
		"metric_name":    m.name,
		"namespace":      m.namespace,
		"statistic":      normaliseStatistic(statistic),
		"threshold":      threshold,
		"comparison":     comparison,
		"dimensions":     dims,
		"instance_id":    m.dimensions["InstanceId"],
		"resources":      a.resources(),
		"time":           a.time.UTC().Format(time.RFC3339Nano),
		"composite":      a.composite,
		"alarm_rule":     a.alarmRule,
	}
}

// primaryMetric is the metric a rule most likely means by "the alarm's
// metric": the one whose data the alarm evaluates (returnData), else the
// first with a name. Metric math alarms evaluate an expression, in which case
// the first input metric is the best description available.
func (a *alarm) primaryMetric() metric {
	for _, m := range a.metrics {
		if m.returnData && m.name != "" {
			return m
		}
	}
	for _, m := range a.metrics {
		if m.name != "" {
			return m
		}
	}
	return metric{}
}

// resourceDimensions are the CloudWatch dimensions whose values identify a
// resource a remediation could act on.
var resourceDimensions = map[string]bool{
	"InstanceId": true, "AutoScalingGroupName": true, "VolumeId": true,
	"DBInstanceIdentifier": true, "DBClusterIdentifier": true, "CacheClusterId": true,
	"FunctionName": true, "LoadBalancer": true, "LoadBalancerName": true, "TargetGroup": true,
	"ClusterName": true, "ServiceName": true, "QueueName": true, "TopicName": true,
	"BucketName": true, "TableName": true, "StateMachineArn": true,
}

// resources lists the resource ids an alarm is about, in metric order,
// without duplicates: resource dimensions and ARN-valued dimensions of every
// metric, and for a composite alarm the child alarms that triggered it.
func (a *alarm) resources() []any {
	seen := map[string]bool{}
	out := []any{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, m := range a.metrics {
		names := make([]string, 0, len(m.dimensions))
		for k := range m.dimensions {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if v := m.dimensions[k]; resourceDimensions[k] || strings.HasPrefix(v, "arn:") {
				add(v)
			}
		}
	}
	for _, arn := range a.children {
		add(arn)
	}
	return out
}

// parseReasonData decodes CloudWatch's reasonData, a JSON document sent as a
// string. It is informational, so text that is not a JSON object gives null
// rather than refusing the alarm.
func parseReasonData(raw string) any {
	var v map[string]any
	if json.Unmarshal([]byte(raw), &v) != nil || v == nil {
		return nil
	}
	return v
}

// compositeChildren lists the triggeringAlarms ARNs a composite alarm's
// reasonData names.
func compositeChildren(reasonData string) []string {
	var rd struct {
		TriggeringAlarms []struct {
			Arn string `json:"arn"`
		} `json:"triggeringAlarms"`
	}
	if json.Unmarshal([]byte(reasonData), &rd) != nil {
		return nil
	}
	var arns []string
	for _, t := range rd.TriggeringAlarms {
		arns = append(arns, t.Arn)
	}
	return arns
}

// reasonThreshold reads the threshold a metric alarm's reasonData reports;
// EventBridge and alarm-action payloads carry it nowhere else.
func reasonThreshold(reasonData string) *float64 {
	var rd struct {
		Threshold *float64 `json:"threshold"`
	}
	if json.Unmarshal([]byte(reasonData), &rd) != nil {
		return nil
	}
	return rd.Threshold
}

// comparisonFromReason recovers the ComparisonOperator from CloudWatch's
// reason text ("... was greater than or equal to the threshold (80.0)"),
// because only the SNS shape sends the operator itself. Longer phrases are
// tried first: "greater than or equal to" contains "greater than". An
// anomaly detection alarm has a band, not a threshold: its reason names the
// lower and upper thresholds, both for the two-sided operator
// ("was less than the lower thresholds [..] or greater than the upper
// thresholds [..]") and, negated, when it returns to OK.
func comparisonFromReason(reason string) string {
	r := strings.ToLower(reason)
	for _, c := range []struct {
		phrases []string
		op      string
	}{
		{[]string{"greater than or equal to the threshold"}, "GreaterThanOrEqualToThreshold"},
		{[]string{"less than or equal to the threshold"}, "LessThanOrEqualToThreshold"},
		{[]string{"greater than the threshold"}, "GreaterThanThreshold"},
		{[]string{"less than the threshold"}, "LessThanThreshold"},
		{[]string{"outside the band"}, "LessThanLowerOrGreaterThanUpperThreshold"},
		{[]string{"less than the lower threshold", "greater than the upper threshold"}, "LessThanLowerOrGreaterThanUpperThreshold"},
		{[]string{"greater than the upper threshold"}, "GreaterThanUpperThreshold"},
		{[]string{"less than the lower threshold"}, "LessThanLowerThreshold"},
	} {
		if containsAll(r, c.phrases) {
			return c.op
		}
	}
	return ""
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// normaliseStatistic gives the CloudWatch API spelling: SNS notifications
// say AVERAGE and SAMPLE_COUNT where EventBridge says Average and SampleCount.
func normaliseStatistic(s string) string {
	switch strings.ToUpper(s) {
	case "AVERAGE":
		return "Average"
	case "SUM":
		return "Sum"
	case "MINIMUM":
		return "Minimum"
	case "MAXIMUM":
		return "Maximum"
	case "SAMPLE_COUNT", "SAMPLECOUNT":
		return "SampleCount"
	}
	return s
}

// alarmTimeLayouts are the timestamp spellings CloudWatch uses: state
// timestamps are "2019-10-02T17:04:40.989+0000", not quite RFC 3339.
var alarmTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
}

func parseAlarmTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fieldErr(field, "is missing: the alarm's state change time is required")
	}
	for _, layout := range alarmTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldErr(field, "is %q, not a timestamp like 2019-10-02T17:04:40.989+0000", s)
}

// stableID hashes the parts that identify one state change, for shapes that
// carry no delivery id of their own.
func stableID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:32]
}
