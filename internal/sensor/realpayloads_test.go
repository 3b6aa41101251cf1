package sensor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/alert"
)

// The samples these tests read are real payloads kept in events/ (their
// sources are listed in docs/sensors.md).

// A 2015 SNS notification names its region "US - N. Virginia", the display
// name CloudWatch used before "US East (N. Virginia)".
func TestSNSOldRegionDisplayName(t *testing.T) {
	tr := parseOne(t, "cloudwatch/sns-legacy-2015-region-display-name.json", Request{})
	assertFields(t, "legacy", tr.Payload, map[string]any{
		"region":     "us-east-1",
		"alarm_name": "sns-slack-test-from-cloudwatch-total-cpu",
		"state":      "OK",
		"comparison": "GreaterThanOrEqualToThreshold",
		"threshold":  8.0,
	})
}

func TestOldRegionNamesMapToCodes(t *testing.T) {
	for name, code := range map[string]string{
		"US - N. Virginia": "us-east-1", "EU - Ireland": "eu-west-1", "Asia Pacific - Tokyo": "ap-northeast-1",
		"South America - Sao Paulo": "sa-east-1", " US - Oregon ": "us-west-2",
	} {
		if got, ok := RegionCode(name); !ok || got != code {
			t.Errorf("RegionCode(%q) = %q, %v; want %q", name, got, ok, code)
		}
	}
}

// snsWithRegion is the legacy sample with its Region, AlarmArn and TopicArn
// replaced.
func snsWithRegion(t *testing.T, region, alarmArn, topicArn string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readEvent(t, "cloudwatch/sns-legacy-2015-region-display-name.json"), &ev); err != nil {
		t.Fatal(err)
	}
	sns := ev["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)
	var msg map[string]any
	if err := json.Unmarshal([]byte(sns["Message"].(string)), &msg); err != nil {
		t.Fatal(err)
	}
	msg["Region"] = region
	if alarmArn != "" {
		msg["AlarmArn"] = alarmArn
	}
	m, _ := json.Marshal(msg)
	sns["Message"], sns["TopicArn"] = string(m), topicArn
	b, _ := json.Marshal(ev)
	return b
}

// An unknown display name falls back to the alarm ARN's region, then to
// the topic ARN's; placeholders and hostile values are not taken for a
// region, and the error names every place that was looked at.
func TestSNSRegionFallsBackToTheARNs(t *testing.T) {
	cases := []struct {
		name, region, alarmArn, topicArn, want string
	}{
		{"alarm ARN first", "Atlantis - North", "arn:aws:cloudwatch:eu-west-2:1:alarm:a", "arn:aws:sns:us-east-1:1:t", "eu-west-2"},
		{"topic ARN", "Atlantis - North", "", "arn:aws:sns:ap-south-1:123456789012:alerts", "ap-south-1"},
		{"display name wins", "EU - Ireland", "", "arn:aws:sns:ap-south-1:123456789012:alerts", "eu-west-1"},
		{"placeholder ARNs", "EXAMPLE", "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE", "arn:aws:sns:EXAMPLE", ""},
		{"hostile ARN", "x", "arn:aws:cloudwatch:../../etc:1:alarm:a", "arn:aws:sns:us-east-1;rm -rf /:1:t", ""},
		{"not an ARN", "x", "", "us-east-1", ""},
	}
	for _, c := range cases {
		got, err := Parse(snsWithRegion(t, c.region, c.alarmArn, c.topicArn), Request{})
		if c.want == "" {
			var se *Error
			if !errors.As(err, &se) || se.Field != "Records[0].Sns.Message.Region" || !strings.Contains(se.Reason, "topic ARN") {
				t.Errorf("%s: got %v, %v; want a Region error naming the topic ARN", c.name, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if r := got[0].Payload["region"]; r != c.want {
			t.Errorf("%s: region %v, want %s", c.name, r, c.want)
		}
	}
}

// SNS raw message delivery posts the alarm JSON without the envelope.
func TestSNSRawMessageDelivery(t *testing.T) {
	body := readEvent(t, "cloudwatch/sns-raw-message-delivery.json")
	tr := parseOne(t, "cloudwatch/sns-raw-message-delivery.json", Request{Hint: HintCloudWatch})
	assertFields(t, "raw", tr.Payload, map[string]any{
		"alarm_name":  "test-cw-go-mem",
		"region":      "us-east-2",
		"state":       "ALARM",
		"metric_name": "MemoryUtilized",
		"statistic":   "Average",
		"threshold":   10.0,
		"comparison":  "GreaterThanThreshold",
		"dimensions":  map[string]any{"ServiceName": "dev-twoheavy-svc", "ClusterName": "dev-twoheavy"},
	})
	if tr.Source != "sns" || !strings.HasPrefix(tr.ID, "sns-raw:") {
		t.Errorf("source/id = %s/%s", tr.Source, tr.ID)
	}
	again, _ := Parse(body, Request{})
	if again[0].ID != tr.ID {
		t.Errorf("a redelivery got id %s, the first %s", again[0].ID, tr.ID)
	}
	// Over HTTP, SNS names the message and the topic in headers.
	in := Request{Headers: map[string]string{"X-Amz-Sns-Message-Id": "b7e1c2d3-0000-4000-8000-000000000001",
		"X-Amz-Sns-Topic-Arn": "arn:aws:sns:eu-north-1:123456789:alarms"}}
	withHeaders, err := Parse(body, in)
	if err != nil || withHeaders[0].ID != "sns:b7e1c2d3-0000-4000-8000-000000000001" {
		t.Fatalf("with SNS headers: %v, %v", withHeaders, err)
	}
	if withHeaders[0].Payload["region"] != "us-east-2" {
		t.Errorf("the display name must win over the topic header: %v", withHeaders[0].Payload["region"])
	}
}

func TestSNSRawMessageDeliveryRefusesBadValues(t *testing.T) {
	for body, field := range map[string]string{
		`{"AlarmName":"a","NewStateValue":"ON_FIRE","StateChangeTime":"2020-03-12T14:36:48.821+0000","Region":"US East (Ohio)"}`: "NewStateValue",
		`{"AlarmName":"a","NewStateValue":"ALARM","StateChangeTime":"yesterday","Region":"US East (Ohio)"}`:                      "StateChangeTime",
		`{"AlarmName":"a","NewStateValue":"ALARM","StateChangeTime":"2020-03-12T14:36:48.821+0000","Region":"Mars"}`:             "Region",
		`{"AlarmName":["a"],"NewStateValue":"ALARM"}`:                                                                            "AlarmName",
	} {
		_, err := Parse([]byte(body), Request{})
		var se *Error
		if !errors.As(err, &se) || se.Field != field {
			t.Errorf("%s: got %v, want an error on %s", body, err, field)
		}
	}
}

// Anomaly detection alarms compare against a band, not a threshold: the
// two-sided operator is recovered from the reason (EventBridge) or taken
// from the notification (SNS), and threshold stays null.
func TestAnomalyDetectionBand(t *testing.T) {
	for _, c := range []struct{ file, state string }{
		{"cloudwatch/eventbridge-anomaly-detection-alarm.json", "ALARM"},
		{"cloudwatch/sns-http-anomaly-detection-ok.json", "OK"},
	} {
		tr := parseOne(t, c.file, Request{})
		assertFields(t, c.file, tr.Payload, map[string]any{
			"comparison": "LessThanLowerOrGreaterThanUpperThreshold",
			"threshold":  nil,
			"state":      c.state,
		})
	}
}

func TestComparisonFromReasonBands(t *testing.T) {
	for reason, want := range map[string]string{
		"Thresholds Crossed: 1 out of the last 1 datapoints [0.0 (03/10/19 15:58:00)] was less than the lower thresholds [0.02] or greater than the upper thresholds [0.3]": "LessThanLowerOrGreaterThanUpperThreshold",
		"Thresholds Crossed: 1 datapoint [0.16] was not less than the lower thresholds [0.02] or not greater than the upper thresholds [0.3]":                               "LessThanLowerOrGreaterThanUpperThreshold",
		"Thresholds Crossed: 1 out of the last 1 datapoints [9.0] was greater than the upper thresholds [0.3]":                                                              "GreaterThanUpperThreshold",
		"Thresholds Crossed: 1 out of the last 1 datapoints [0.0] was less than the lower thresholds [0.02]":                                                                "LessThanLowerThreshold",
		"Threshold Crossed: 1 datapoint (7.9) was not greater than or equal to the threshold (8.0).":                                                                        "GreaterThanOrEqualToThreshold",
		"arn:aws:cloudwatch:us-east-1:1:alarm:x transitioned to ALARM":                                                                                                      "",
	} {
		if got := comparisonFromReason(reason); got != want {
			t.Errorf("comparisonFromReason(%q) = %q, want %q", reason, got, want)
		}
	}
}

// Some senders set only the group's status; each alert takes it.
func TestAlertmanagerAlertWithoutStatusTakesTheGroups(t *testing.T) {
	tr := parseOne(t, "alertmanager/webhook-no-alert-status.json", Request{Hint: HintAlertmanager})
	assertFields(t, "no status", tr.Payload, map[string]any{"status": "firing", "alertname": "high_memory_load"})
	for body, reason := range map[string]string{
		`{"version":"4","alerts":[{"labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`:                                     `missing and the group's status is ""`,
		`{"version":"4","status":"ablaze","alerts":[{"labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`:                   `group's status is "ablaze"`,
		`{"version":"4","status":"firing","alerts":[{"status":"ablaze","labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`: `is "ablaze"`,
	} {
		_, err := Parse([]byte(body), Request{})
		var se *Error
		if !errors.As(err, &se) || se.Field != "alerts[0].status" || !strings.Contains(se.Reason, reason) {
			t.Errorf("%s: got %v, want alerts[0].status %s", body, err, reason)
		}
	}
}

// Alertmanager v3 and Grafana's webhook look like Alertmanager's but are
// refused by name, so whoever owns the sender knows what to change.
func TestOtherWebhookVersionsAreRefusedByName(t *testing.T) {
	for file, reason := range map[string]string{
		"invalid/alertmanager-version-3-alerta.json": "Alertmanager webhook version 3",
		"invalid/grafana-unified-webhook.json":       "Grafana alerting webhook",
	} {
		_, err := Parse(readEvent(t, file), Request{})
		var se *Error
		if !errors.As(err, &se) || se.Field != "version" || !strings.Contains(se.Reason, reason) {
			t.Errorf("%s: got %v, want a version error naming %q", file, err, reason)
		}
	}
	_, err := Parse([]byte(`{"version":4,"alerts":[]}`), Request{})
	if err == nil || !strings.Contains(err.Error(), `not a string; want "4"`) {
		t.Errorf("numeric version: %v", err)
	}
	huge := `{"version":{"x":"` + strings.Repeat("A", 100000) + `"},"alerts":[]}`
	if _, err := Parse([]byte(huge), Request{}); err == nil || len(err.Error()) > 200 {
		t.Errorf("an object as version: error of %d bytes, want it short", len(fmt.Sprint(err)))
	}
}

// Two alerts of one group that share the sender's fingerprint but differ in
// labels are two alerts: the identity is Medic's hash of the labels.
func TestAlertIdentityIsMedicsOwn(t *testing.T) {
	got, err := Parse(readEvent(t, "alertmanager/webhook-shared-fingerprint.json"), Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID == got[1].ID {
		t.Fatalf("ids %q and %q: two alerts must have two ids", got[0].ID, got[1].ID)
	}
	for _, tr := range got {
		a, err := alert.FromTrigger(tr)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Payload["fingerprint"] != a.Fingerprint || !strings.Contains(tr.ID, ":"+a.Fingerprint+":") {
			t.Errorf("trigger %s, payload fingerprint %v: want the alert's own fingerprint %s", tr.ID, tr.Payload["fingerprint"], a.Fingerprint)
		}
		if tr.Payload["fingerprint"] == "dd19ae3d4e06ac55" {
			t.Errorf("the sender's fingerprint was trusted")
		}
	}
	// A forged fingerprint changes nothing; a changed label changes the identity.
	body := string(readEvent(t, "alertmanager/webhook-firing.json"))
	forged, _ := Parse([]byte(strings.Replace(body, `"fingerprint": "4c9f6a2c1b7e3d05"`, `"fingerprint": "0000000000000000"`, 1)), Request{})
	orig, _ := Parse([]byte(body), Request{})
	if len(forged) == 0 || forged[0].ID != orig[0].ID {
		t.Errorf("a forged sender fingerprint changed the id: %v vs %v", forged, orig)
	}
	relabelled, _ := Parse([]byte(strings.Replace(body, `"mountpoint": "/var"`, `"mountpoint": "/srv"`, 1)), Request{})
	if len(relabelled) == 0 || relabelled[0].ID == orig[0].ID {
		t.Errorf("a different label set kept the id %v", orig[0].ID)
	}
}

// An alert Medic cannot identify (no alertname, a label named like one of
// Medic's own) is refused at the door with its path, not later.
func TestAlertmanagerUnidentifiableAlertIsRefused(t *testing.T) {
	for body, reason := range map[string]string{
		`{"version":"4","status":"firing","alerts":[{"labels":{"job":"x"},"startsAt":"2026-01-01T00:00:00Z"}]}`:                    "alertname: missing",
		`{"version":"4","status":"firing","alerts":[{"labels":{"alertname":"a","source":"x"},"startsAt":"2026-01-01T00:00:00Z"}]}`: "reserved",
	} {
		_, err := Parse([]byte(body), Request{})
		var se *Error
		if !errors.As(err, &se) || se.Field != "alerts[0].labels" || !strings.Contains(se.Reason, reason) {
			t.Errorf("%s: got %v, want alerts[0].labels %s", body, err, reason)
		}
	}
}

// The region of an EventBridge event or an alarm action is a region code;
// anything else is refused rather than passed on to rules (found by
// FuzzParse).
func TestAlarmRegionMustBeACode(t *testing.T) {
	for file, field := range map[string]string{
		"cloudwatch/eventbridge-alarm-state-change.json": "region",
		"cloudwatch/lambda-alarm-action.json":            "region",
	} {
		var ev map[string]any
		if err := json.Unmarshal(readEvent(t, file), &ev); err != nil {
			t.Fatal(err)
		}
		for _, hostile := range []string{"0", "us-east-1\nx", "../../etc", "{{ 7*7 }}"} {
			ev["region"] = hostile
			body, _ := json.Marshal(ev)
			_, err := Parse(body, Request{})
			var se *Error
			if !errors.As(err, &se) || se.Field != field || !strings.Contains(se.Reason, "region code") {
				t.Errorf("%s with region %q: %v", file, hostile, err)
			}
		}
	}
}

// Grafana's legacy alerting webhook (before unified alerting) has no
// alerts list; it is named too rather than called an unknown shape.
func TestLegacyGrafanaWebhookIsRefusedByName(t *testing.T) {
	body := `{"dashboardId":1,"evalMatches":[{"value":1,"metric":"Count","tags":{}}],"message":"Notification Message",
		"orgId":1,"panelId":2,"ruleId":1,"ruleName":"Panel Title alert","ruleUrl":"http://localhost:3000/d/hZ7BuVbWz/test-dashboard",
		"state":"alerting","tags":{"tag name":"tag value"},"title":"[Alerting] Panel Title alert"}`
	_, err := Parse([]byte(body), Request{})
	if err == nil || !strings.Contains(err.Error(), "legacy Grafana alert webhook") {
		t.Fatalf("got %v", err)
	}
}
