package sensor

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// eventsDir is the repository's sample events, shared with `medic replay`.
var eventsDir = filepath.Join("..", "..", "events")

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseOne(t *testing.T, name string, in Request) trigger.Trigger {
	t.Helper()
	got, err := Parse(readEvent(t, name), in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(got) != 1 {
		t.Fatalf("%s: %d triggers, want 1", name, len(got))
	}
	return got[0]
}

// webCPUAlarm is what every shape of the web-1-cpu-high sample must say.
var webCPUAlarm = map[string]any{
	"account":        "123456789012",
	"region":         "us-east-1",
	"alarm_name":     "web-1-cpu-high",
	"alarm_arn":      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-1-cpu-high",
	"description":    "CPU of web-1 above 80% for 5 minutes",
	"state":          "ALARM",
	"previous_state": "OK",
	"reason":         "Threshold Crossed: 1 out of the last 1 datapoints [97.8 (25/11/26 09:09:00)] was greater than the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition).",
	"metric_name":    "CPUUtilization",
	"namespace":      "AWS/EC2",
	"statistic":      "Average",
	"threshold":      80.0,
	"comparison":     "GreaterThanThreshold",
	"dimensions":     map[string]any{"InstanceId": "i-0abc1234def567890"},
	"instance_id":    "i-0abc1234def567890",
	"resources":      []any{"i-0abc1234def567890"},
	"time":           "2026-11-25T09:14:40.989Z",
	"composite":      false,
	"alarm_rule":     "",
}

func assertFields(t *testing.T, name string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: payload[%q] = %#v, want %#v", name, k, g, w)
		}
	}
}

func TestCloudWatchShapesGiveTheSamePayload(t *testing.T) {
	cases := []struct {
		file, id, source string
		hasReasonData    bool
	}{
		{"cloudwatch/eventbridge-alarm-state-change.json", "eventbridge:c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "eventbridge", true},
		{"cloudwatch/sns-alarm-notification.json", "sns:95df01b4-ee98-5cb9-9903-4c221d41eb5e", "sns", false},
		{"cloudwatch/lambda-alarm-action.json", "", "lambda-action", true},
	}
	for _, c := range cases {
		tr := parseOne(t, c.file, Request{})
		if tr.Type != trigger.TypeCloudWatchAlarm || tr.Source != c.source {
			t.Errorf("%s: type/source = %s/%s", c.file, tr.Type, tr.Source)
		}
		if c.id != "" && tr.ID != c.id {
			t.Errorf("%s: id = %q, want %q", c.file, tr.ID, c.id)
		}
		if want := time.Date(2026, 11, 25, 9, 14, 40, 989e6, time.UTC); !tr.Time.Equal(want) {
			t.Errorf("%s: time = %v, want %v", c.file, tr.Time, want)
		}
		assertFields(t, c.file, tr.Payload, webCPUAlarm)
		rd, _ := tr.Payload["reason_data"].(map[string]any)
		if c.hasReasonData && rd["threshold"] != 80.0 {
			t.Errorf("%s: reason_data = %#v, want the parsed reasonData object", c.file, tr.Payload["reason_data"])
		}
		if !c.hasReasonData && tr.Payload["reason_data"] != nil {
			t.Errorf("%s: reason_data = %#v, want null", c.file, tr.Payload["reason_data"])
		}
	}
}

func TestAlarmActionIDIsStableAndStateSpecific(t *testing.T) {
	body := readEvent(t, "cloudwatch/lambda-alarm-action.json")
	a, _ := Parse(body, Request{})
	b, _ := Parse(body, Request{})
	if a[0].ID != b[0].ID || !strings.HasPrefix(a[0].ID, "alarm-action:") {
		t.Fatalf("ids %q and %q: want equal alarm-action ids for a redelivery", a[0].ID, b[0].ID)
	}
	changed := strings.Replace(string(body), `"value": "ALARM"`, `"value": "OK"`, 1)
	c, err := Parse([]byte(changed), Request{})
	if err != nil {
		t.Fatal(err)
	}
	if c[0].ID == a[0].ID {
		t.Errorf("a different state kept id %q", a[0].ID)
	}
}

func TestCompositeAlarm(t *testing.T) {
	tr := parseOne(t, "cloudwatch/eventbridge-composite-alarm.json", Request{Hint: HintCloudWatch})
	assertFields(t, "composite", tr.Payload, map[string]any{
		"region":      "eu-west-1",
		"alarm_name":  "web-tier-unhealthy",
		"composite":   true,
		"alarm_rule":  "ALARM(web-1-cpu-high) OR ALARM(web-1-status-check-failed)",
		"state":       "ALARM",
		"metric_name": "",
		"threshold":   nil,
		"comparison":  "",
		"dimensions":  map[string]any{},
		"instance_id": "",
		"resources":   []any{"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-1-cpu-high"},
	})
}

func TestSNSHTTPDeliveryMapsRegionNameAndExtendedStatistic(t *testing.T) {
	tr := parseOne(t, "cloudwatch/sns-http-delivery.json", Request{})
	assertFields(t, "sns http", tr.Payload, map[string]any{
		"region":         "eu-west-1",
		"description":    "",
		"previous_state": "INSUFFICIENT_DATA",
		"statistic":      "p90",
		"comparison":     "GreaterThanOrEqualToThreshold",
		"threshold":      90.0,
		"dimensions":     map[string]any{"AutoScalingGroupName": "web-asg"},
		"resources":      []any{"web-asg"},
		"instance_id":    "",
	})
	if tr.ID != "sns:a7b1c5f2-0f3e-5b6a-9d2e-3c4b5a6d7e8f" {
		t.Errorf("id = %q", tr.ID)
	}
}

func TestLocalDemoAlarm(t *testing.T) {
	tr := parseOne(t, "local/disk-full-alarm.json", Request{})
	assertFields(t, "demo", tr.Payload, map[string]any{
		"alarm_name":  "medic-demo-disk-full",
		"namespace":   "CWAgent",
		"metric_name": "disk_used_percent",
		"dimensions":  map[string]any{"path": "/tmp/medic-demo/scratch", "host": "localhost"},
		"instance_id": "",
		"comparison":  "GreaterThanOrEqualToThreshold",
		"threshold":   90.0,
		"statistic":   "Maximum",
	})
}

func TestAlertmanagerFiring(t *testing.T) {
	got, err := Parse(readEvent(t, "alertmanager/webhook-firing.json"), Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d triggers, want one per alert (2)", len(got))
	}
	first := got[0]
	// The fingerprint is Medic's hash of the labels, not the sender's
	// (TestAlertIdentityIsMedicsOwn).
	fp, _ := first.Payload["fingerprint"].(string)
	if first.Type != trigger.TypeAlertmanager || first.ID != "alertmanager:"+fp+":firing:2026-11-25T09:40:15.512Z" {
		t.Errorf("type/id = %s/%s", first.Type, first.ID)
	}
	assertFields(t, "firing", first.Payload, map[string]any{
		"status":        "firing",
		"alertname":     "NodeFilesystemAlmostFull",
		"instance":      "10.0.1.23:9100",
		"starts_at":     "2026-11-25T09:40:15.512Z",
		"ends_at":       "",
		"group_key":     "{}/{severity=\"page\"}:{alertname=\"NodeFilesystemAlmostFull\"}",
		"receiver":      "medic",
		"external_url":  "http://alertmanager.example.com:9093",
		"generator_url": "http://prometheus.example.com:9090/graph?g0.expr=node_filesystem_avail_bytes%7Bmountpoint%3D%22%2Fvar%22%7D+%2F+node_filesystem_size_bytes+%3C+0.05&g0.tab=1",
	})
	labels := first.Payload["labels"].(map[string]any)
	if labels["mountpoint"] != "/var" || labels["severity"] != "page" {
		t.Errorf("labels = %v", labels)
	}
	if ann := first.Payload["annotations"].(map[string]any); ann["summary"] != "Filesystem /var on 10.0.1.23:9100 is 96% full" {
		t.Errorf("annotations = %v", ann)
	}
	if got[1].Payload["instance"] != "10.0.1.24:9100" {
		t.Errorf("second alert = %v", got[1].Payload)
	}
}

func TestAlertmanagerResolved(t *testing.T) {
	tr := parseOne(t, "alertmanager/webhook-resolved.json", Request{Hint: HintAlertmanager})
	assertFields(t, "resolved", tr.Payload, map[string]any{
		"status":  "resolved",
		"ends_at": "2026-11-25T09:52:45.001Z",
	})
	if want := time.Date(2026, 11, 25, 9, 52, 45, 1e6, time.UTC); !tr.Time.Equal(want) {
		t.Errorf("time = %v, want the end time %v", tr.Time, want)
	}
}

func TestWebhook(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	defer func(old func() time.Time) { now = old }(now)
	now = func() time.Time { return fixed }
	body := readEvent(t, "webhook/generic.json")
	in := Request{Path: "/v1/webhooks/deploy/failed", Hint: HintWebhook, Headers: map[string]string{"Content-Type": "application/json"}}
	tr := parseOne(t, "webhook/generic.json", in)
	if tr.Type != trigger.TypeWebhook || !tr.Time.Equal(fixed) {
		t.Errorf("type/time = %s/%v", tr.Type, tr.Time)
	}
	assertFields(t, "webhook", tr.Payload, map[string]any{
		"url":     "deploy/failed",
		"headers": map[string]any{"content-type": "application/json"},
	})
	if b := tr.Payload["body"].(map[string]any); b["service"] != "checkout" || b["details"].(map[string]any)["attempts"] != 3.0 {
		t.Errorf("body = %v", b)
	}
	again, _ := Parse(body, in)
	if again[0].ID != tr.ID {
		t.Errorf("redelivered body got id %q, first %q", again[0].ID, tr.ID)
	}
	in.Headers = map[string]string{"X-Request-Id": "req-42"}
	keyed, _ := Parse(body, in)
	if keyed[0].ID != "webhook:deploy/failed:req-42" {
		t.Errorf("id with X-Request-Id = %q", keyed[0].ID)
	}
}

// TestInvalidSamplesAreRefused runs every sample under events/invalid and
// checks the error names the offending field.
func TestInvalidSamplesAreRefused(t *testing.T) {
	want := map[string]struct{ field, reason string }{
		"not-json.txt":                           {"", "not valid JSON"},
		"empty.json":                             {"", "empty"},
		"top-level-array.json":                   {"", "body is a JSON array"},
		"unknown-shape.json":                     {"", "unknown event shape"},
		"sns-not-an-alarm.json":                  {"Records[0].Sns.Message", "not a JSON object"},
		"sns-json-not-an-alarm.json":             {"Records[0].Sns.Message.source", "aws.ec2"},
		"sns-message-not-an-alarm.json":          {"Records[0].Sns.Message", "not a CloudWatch alarm notification"},
		"sns-subscription-confirmation.json":     {"Type", "SubscriptionConfirmation"},
		"eventbridge-missing-state.json":         {"detail.state", "missing"},
		"eventbridge-state-wrong-type.json":      {"detail.state.value", "number"},
		"eventbridge-not-an-alarm.json":          {"source", "aws.ec2"},
		"eventbridge-bad-state-value.json":       {"detail.state.value", "ON_FIRE"},
		"lambda-alarm-action-no-alarm-name.json": {"alarmData.alarmName", "missing"},
		"alertmanager-bad-status.json":           {"alerts[0].status", "burning"},
		"alertmanager-labels-wrong-type.json":    {"alerts.labels", "array"},
		"alertmanager-version-3.json":            {"version", "version 3"},
		"alertmanager-version-3-alerta.json":     {"version", "version 3"},
		"grafana-unified-webhook.json":           {"version", "Grafana"},
		"timer-tick-bad-unit.json":               {"trigger.parameters.unit", "fortnights"},
		// Real payloads (sources in docs/sensors.md).
		"eventbridge-alarm-configuration-change.json": {"detail-type", "Configuration Change"},
		"eventbridge-ec2-state-change.json":           {"source", "aws.ec2"},
		"ses-records-not-sns.json":                    {"Records[0].EventSource", "aws:ses"},
		"sns-message-plain-text.json":                 {"Records[0].Sns.Message", "not a JSON object"},
		"sns-message-json-not-an-alarm.json":          {"Records[0].Sns.Message", "not a CloudWatch alarm notification"},
		"sns-http-subscription-confirmation.json":     {"Type", "SubscriptionConfirmation"},
	}
	files, err := os.ReadDir(filepath.Join(eventsDir, "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		w, ok := want[f.Name()]
		if !ok {
			t.Errorf("invalid/%s has no expectation in this test", f.Name())
			continue
		}
		got, err := Parse(readEvent(t, filepath.Join("invalid", f.Name())), Request{})
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, %v; want a *sensor.Error", f.Name(), got, err)
			continue
		}
		if se.Field != w.field || !strings.Contains(se.Reason, w.reason) {
			t.Errorf("%s: error %q (field %q), want field %q and reason containing %q", f.Name(), err, se.Field, w.field, w.reason)
		}
	}
}

func TestBodyLimitAndHints(t *testing.T) {
	huge := make([]byte, MaxBodyBytes+1)
	if _, err := Parse(huge, Request{}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge body: %v", err)
	}
	alarm := readEvent(t, "cloudwatch/eventbridge-alarm-state-change.json")
	if _, err := Parse(alarm, Request{Hint: HintAlertmanager}); err == nil || !strings.Contains(err.Error(), "not alertmanager") {
		t.Errorf("cloudwatch body with alertmanager hint: %v", err)
	}
	if _, err := Parse(alarm, Request{Hint: "nagios"}); err == nil || !strings.Contains(err.Error(), "unknown hint") {
		t.Errorf("unknown hint: %v", err)
	}
	if _, err := Parse([]byte(`{}`), Request{Hint: HintWebhook, Path: "/v1/webhooks/"}); err == nil || !strings.Contains(err.Error(), "path") {
		t.Errorf("webhook without a name: %v", err)
	}
}

func TestRegionCode(t *testing.T) {
	for name, want := range map[string]string{
		"US East (N. Virginia)": "us-east-1", "EU (Ireland)": "eu-west-1", "Europe (Ireland)": "eu-west-1",
		"Asia Pacific (Tokyo)": "ap-northeast-1", "South America (São Paulo)": "sa-east-1",
		"AWS GovCloud (US-West)": "us-gov-west-1", "ap-southeast-2": "ap-southeast-2",
	} {
		if got, ok := RegionCode(name); !ok || got != want {
			t.Errorf("RegionCode(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := RegionCode("Atlantis (Central)"); ok {
		t.Error("unknown region accepted")
	}
}

func TestTimerTicks(t *testing.T) {
	tr := parseOne(t, "timer/scheduler-interval-tick.json", Request{Hint: HintTimer})
	if tr.ID != "timer:linux.disk_usage_sweep:2026-11-25T10:25:00Z" || tr.Type != trigger.TypeIntervalTimer || tr.Source != "scheduler" {
		t.Errorf("interval tick = %+v", tr)
	}
	assertFields(t, "interval tick", tr.Payload, map[string]any{
		"executed_at": "2026-11-25T10:25:00Z",
		"rule":        "linux.disk_usage_sweep",
		"schedule":    map[string]any{"unit": "minutes", "delta": 5.0},
	})
	tr = parseOne(t, "timer/scheduler-cron-tick.json", Request{})
	if tr.Type != trigger.TypeCronTimer || tr.Payload["executed_at"] != "2026-11-26T02:30:00Z" {
		t.Errorf("cron tick = %+v", tr)
	}
}

// The operator is the alarm's, not the state's: "was not greater than" in
// an OK reason still names GreaterThanThreshold, as SNS would.
func TestRecoveryAlarm(t *testing.T) {
	tr := parseOne(t, "cloudwatch/eventbridge-alarm-ok.json", Request{})
	assertFields(t, "ok", tr.Payload, map[string]any{
		"state": "OK", "previous_state": "ALARM", "instance_id": "i-0abc1234def567890",
		"comparison": "GreaterThanThreshold", "threshold": 80.0, "time": "2026-11-25T09:34:40.915Z",
	})
}

func TestMetricMathAlarmDescribesItsInputs(t *testing.T) {
	tr := parseOne(t, "cloudwatch/eventbridge-metric-math-alarm.json", Request{})
	assertFields(t, "metric math", tr.Payload, map[string]any{
		"region":      "us-west-2",
		"metric_name": "HTTPCode_Target_5XX_Count",
		"namespace":   "AWS/ApplicationELB",
		"statistic":   "Sum",
		"threshold":   5.0,
		"dimensions":  map[string]any{"LoadBalancer": "app/api-alb/50dc6c495c0c9188"},
		"resources":   []any{"app/api-alb/50dc6c495c0c9188"},
	})
	// "were greater than the threshold" (plural) still names the operator.
	if tr.Payload["comparison"] != "GreaterThanThreshold" {
		t.Errorf("comparison = %v", tr.Payload["comparison"])
	}
}

func TestCompositeAlarmShapesAgree(t *testing.T) {
	eb := parseOne(t, "cloudwatch/eventbridge-composite-alarm.json", Request{})
	action := parseOne(t, "cloudwatch/lambda-composite-alarm-action.json", Request{})
	if !reflect.DeepEqual(eb.Payload, action.Payload) {
		t.Errorf("EventBridge and alarm-action composite payloads differ:\n%v\n%v", eb.Payload, action.Payload)
	}
	sns := parseOne(t, "cloudwatch/sns-composite-alarm-notification.json", Request{})
	assertFields(t, "sns composite", sns.Payload, map[string]any{
		"region":     "ap-northeast-1",
		"composite":  true,
		"alarm_rule": "ALARM(db-replica-lag) OR ALARM(db-connections-high)",
		"resources":  []any{"arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:db-replica-lag"},
		"threshold":  nil,
		"comparison": "",
	})
}

func TestEventBridgeAndAlarmActionPayloadsAreIdentical(t *testing.T) {
	eb := parseOne(t, "cloudwatch/eventbridge-alarm-state-change.json", Request{})
	action := parseOne(t, "cloudwatch/lambda-alarm-action.json", Request{})
	if !reflect.DeepEqual(eb.Payload, action.Payload) {
		t.Errorf("payloads differ:\n%v\n%v", eb.Payload, action.Payload)
	}
}

// An EventBridge rule can target an SNS topic; the event then arrives as the
// Message and keeps its EventBridge id, deduping with the direct delivery.
func TestEventBridgeEventThroughSNS(t *testing.T) {
	direct := parseOne(t, "cloudwatch/eventbridge-alarm-state-change.json", Request{})
	wrapped := parseOne(t, "cloudwatch/sns-eventbridge-alarm-state-change.json", Request{})
	if wrapped.ID != direct.ID || wrapped.Source != "sns" || !reflect.DeepEqual(wrapped.Payload, direct.Payload) {
		t.Errorf("wrapped %+v\ndirect %+v", wrapped, direct)
	}
	bad := `{"Type":"Notification","MessageId":"m","Message":"{\"detail-type\":\"CloudWatch Alarm State Change\",\"source\":\"aws.cloudwatch\",\"id\":\"x\",\"detail\":{\"alarmName\":\"a\"}}"}`
	_, err := Parse([]byte(bad), Request{})
	var se *Error
	if !errors.As(err, &se) || se.Field != "Message.detail.state" {
		t.Errorf("wrapped event without a state: %v", err)
	}
}
