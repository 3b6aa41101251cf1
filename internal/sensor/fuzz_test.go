package sensor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
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
		`{"version":"4","alerts":[{"status":"firing","startsAt":"0001-01-01T00:00:00Z"}]}`} {
		f.Add([]byte(s))
	}
}

// FuzzParse checks that no body panics and that every refusal is a
// *sensor.Error and every acceptance a well-formed trigger.
func FuzzParse(f *testing.F) {
	addEventSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, hint := range []string{"", HintWebhook} {
			got, err := Parse(body, Request{Hint: hint, Path: "/v1/webhooks/fuzz"})
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
				if tr.ID == "" || tr.Type == "" || tr.Payload == nil {
					t.Fatalf("incomplete trigger %+v", tr)
				}
			}
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
