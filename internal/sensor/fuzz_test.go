package sensor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/trigger"
)

// addEventSeeds seeds a fuzz test with every sample under events/.
func addEventSeeds(f *testing.F) {
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil {
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{}`, `null`, `{"Records":[null]}`, `{"Records":[{"EventSource":"aws:sns","Sns":null}]}`,
		`{"Type":"Notification","MessageId":"x","Message":"{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"StateChangeTime\":\"2026-01-01T00:00:00Z\",\"Region\":\"Nowhere\"}"}`,
		`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","id":"1","detail":null}`,
		`{"source":"aws.cloudwatch","alarmArn":"arn","alarmData":{"alarmName":"a","state":{"value":"OK","timestamp":"x"}}}`,
		`{"version":"4","alerts":[{"status":"firing","startsAt":"0001-01-01T00:00:00Z"}]}`,
		`{"version":"4","status":"resolved","alerts":[{"labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`,
		`{"version":"1","orgId":1,"alerts":[]}`, `{"version":3,"alerts":[]}`,
		`{"AlarmName":"a","NewStateValue":"ALARM","StateChangeTime":"2026-01-01T00:00:00Z","Region":"US - N. Virginia"}`,
		`{"AlarmName":"a","NewStateValue":"OK","StateChangeTime":"2026-01-01T00:00:00Z","Region":"x","AlarmArn":"arn:aws:cloudwatch:eu-west-1:1:alarm:a"}`} {
		f.Add([]byte(s))
	}
}

// fuzzRequests are the transports a body is tried on: detection, a webhook
// path, and an SNS HTTP delivery's headers (raw message delivery).
var fuzzRequests = []Request{
	{Path: "/v1/webhooks/fuzz"},
	{Hint: HintWebhook, Path: "/v1/webhooks/fuzz"},
	{Headers: map[string]string{"X-Amz-Sns-Message-Id": "m-1", "X-Amz-Sns-Topic-Arn": "arn:aws:sns:eu-west-1:1:t"}},
}

// FuzzParse checks that no body panics, that every refusal is a
// *sensor.Error and every acceptance a well-formed trigger: an alarm's
// region is a region code, and an alert's identity is Medic's own.
func FuzzParse(f *testing.F) {
	addEventSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, in := range fuzzRequests {
			got, err := Parse(body, in)
			if err != nil {
				var se *Error
				if !errors.As(err, &se) || se.Reason == "" {
					t.Fatalf("error %v is not a *sensor.Error with a reason", err)
				}
				continue
			}
			if len(got) == 0 {
				t.Fatal("accepted with no triggers")
			}
			for _, tr := range got {
				checkTrigger(t, tr)
			}
		}
	})
}

func checkTrigger(t *testing.T, tr trigger.Trigger) {
	t.Helper()
	if tr.ID == "" || tr.Type == "" || tr.Payload == nil {
		t.Fatalf("incomplete trigger %+v", tr)
	}
	switch tr.Type {
	case trigger.TypeCloudWatchAlarm:
		if r, _ := tr.Payload["region"].(string); !regionCodePattern.MatchString(r) {
			t.Fatalf("region %q is not a region code", r)
		}
	case trigger.TypeAlertmanager:
		a, err := alert.FromTrigger(tr)
		if err != nil || tr.Payload["fingerprint"] != a.Fingerprint || !strings.Contains(tr.ID, ":"+a.Fingerprint+":") {
			t.Fatalf("trigger %s (fingerprint %v) does not carry its alert's identity: %+v %v", tr.ID, tr.Payload["fingerprint"], a, err)
		}
	}
}

// FuzzRegionCode: whatever the display name or ARN, a region is a code or
// nothing.
func FuzzRegionCode(f *testing.F) {
	for _, s := range []string{"US - N. Virginia", "EU (Ireland)", "us-east-1", "arn:aws:sns:us-east-1:1:t", "arn:aws:sns:REGION:1:t", "arn:::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if code, ok := RegionCode(s); ok && !regionCodePattern.MatchString(code) {
			t.Fatalf("RegionCode(%q) = %q", s, code)
		}
		if code := regionFromARN(s); code != "" && !regionCodePattern.MatchString(code) {
			t.Fatalf("regionFromARN(%q) = %q", s, code)
		}
	})
}

func BenchmarkParseEventBridgeAlarm(b *testing.B) {
	body := readEvent(b, "cloudwatch/eventbridge-alarm-state-change.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body, Request{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSNSAlarm(b *testing.B) {
	body := readEvent(b, "cloudwatch/sns-alarm-notification.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body, Request{}); err != nil {
			b.Fatal(err)
		}
	}
}
