package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

func cw(id, source, state string, dims map[string]any) trigger.Trigger {
	return trigger.Trigger{ID: id, Type: trigger.TypeCloudWatchAlarm, Source: source, Time: time.Unix(100, 0),
		Payload: map[string]any{"alarm_name": "disk-full", "state": state, "account": "123456789012",
			"region": "eu-west-1", "dimensions": dims}}
}

func TestFingerprintIdentity(t *testing.T) {
	a, err := FromTrigger(cw("1", "eventbridge", "ALARM", map[string]any{"InstanceId": "i-1", "path": "/"}))
	if err != nil {
		t.Fatal(err)
	}
	// Same alarm through SNS, resolved, another delivery: same identity.
	b, _ := FromTrigger(cw("2", "sns", "OK", map[string]any{"path": "/", "InstanceId": "i-1"}))
	if a.Fingerprint != b.Fingerprint {
		t.Errorf("same alarm, different fingerprints: %s %s", a.Fingerprint, b.Fingerprint)
	}
	if a.Status != Firing || b.Status != Resolved {
		t.Errorf("statuses = %s, %s", a.Status, b.Status)
	}
	c, _ := FromTrigger(cw("3", "sns", "ALARM", map[string]any{"InstanceId": "i-2", "path": "/"}))
	if c.Fingerprint == a.Fingerprint {
		t.Error("another instance shares the fingerprint")
	}
	want := map[string]string{"alertname": "disk-full", "account": "123456789012", "region": "eu-west-1",
		"InstanceId": "i-1", "path": "/", "source": trigger.TypeCloudWatchAlarm}
	if Summary(a.Labels) != Summary(want) {
		t.Errorf("labels = %s, want %s", Summary(a.Labels), Summary(want))
	}
	// Another region is another alert.
	d := cw("4", "sns", "ALARM", map[string]any{"InstanceId": "i-1", "path": "/"})
	d.Payload["region"] = "us-east-1"
	if fd, _ := FromTrigger(d); fd.Fingerprint == a.Fingerprint {
		t.Error("region not part of the identity")
	}
}

func TestAlertmanager(t *testing.T) {
	tr := trigger.Trigger{ID: "x", Type: trigger.TypeAlertmanager, Payload: map[string]any{
		"status": "firing", "labels": map[string]any{"alertname": "InstanceDown", "instance": "web-1:9100"}}}
	a, err := FromTrigger(tr)
	if err != nil || a.Name() != "InstanceDown" || a.Labels["instance"] != "web-1:9100" || a.Status != Firing {
		t.Fatalf("%+v %v", a, err)
	}
	if Fingerprint(map[string]string{"a": "1", "b": ""}) != Fingerprint(map[string]string{"a": "1"}) {
		t.Error("empty label changes the fingerprint")
	}
	if Fingerprint(map[string]string{"a": "1b", "c": "2"}) == Fingerprint(map[string]string{"a": "1", "bc": "2"}) {
		t.Error("label boundaries are ambiguous")
	}
}

func TestFromTriggerErrors(t *testing.T) {
	cases := map[string]trigger.Trigger{
		"payload.alarm_name": {Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"state": "ALARM"}},
		"payload.state":      {Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"alarm_name": "a", "state": "ON FIRE"}},
		"payload.dimensions": {Type: trigger.TypeCloudWatchAlarm, Payload: map[string]any{"alarm_name": "a", "state": "OK", "dimensions": []any{1}}},
		"payload.labels.x":   {Type: trigger.TypeAlertmanager, Payload: map[string]any{"status": "firing", "labels": map[string]any{"alertname": "a", "x": []any{}}}},
		"reserved":           {Type: trigger.TypeAlertmanager, Payload: map[string]any{"status": "firing", "labels": map[string]any{"alertname": "a", "source": "me"}}},
		"payload.status":     {Type: trigger.TypeAlertmanager, Payload: map[string]any{"status": "pending", "labels": map[string]any{"alertname": "a"}}},
		"labels.alertname":   {Type: trigger.TypeAlertmanager, Payload: map[string]any{"status": "firing"}},
		"is not an alert":    {Type: trigger.TypeCronTimer},
	}
	for want, tr := range cases {
		if _, err := FromTrigger(tr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}

func TestMatchers(t *testing.T) {
	labels := map[string]string{"alertname": "DiskFull", "instance": "web-12", "env": "prod"}
	cases := []struct {
		in   string
		want bool
	}{
		{`alertname=DiskFull`, true},
		{`alertname = "DiskFull"`, true},
		{`alertname!=DiskFull`, false},
		{`instance=~web-\d+`, true},
		{`instance=~web`, false}, // anchored: a substring is not enough
		{`instance!~db-.*`, true},
		{`team=""`, true}, // absent label is the empty string
		{`team!=""`, false},
		{`env=~"prod|staging"`, true},
	}
	for _, c := range cases {
		m, err := ParseMatcher(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := m.Matches(labels); got != c.want {
			t.Errorf("%s matches = %v, want %v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "=x", "alertname", "a==b", "a=~(", "1a=b", `a="unterminated`, "a<b"} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{`a=b`, `a!=b`, `a=~"x.*"`, `a!~(`, `=`, `a="\x00"`, `é=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		// A parsed matcher prints back to one that parses the same way.
		again, err := ParseMatcher(m.String())
		if err != nil || again.String() != m.String() {
			t.Fatalf("%q -> %s -> %v %v", s, m, again, err)
		}
		m.Matches(map[string]string{"a": s})
	})
}

// FuzzFromTrigger: any JSON payload gives an alert or an error, never a
// panic, and an alert's fingerprint is stable.
func FuzzFromTrigger(f *testing.F) {
	f.Add(true, `{"alarm_name":"a","state":"ALARM","dimensions":{"InstanceId":"i-1"}}`)
	f.Add(true, `{"alarm_name":"a","state":"OK","dimensions":[1]}`)
	f.Add(false, `{"status":"firing","labels":{"alertname":"x","n":1.5,"b":true}}`)
	f.Add(false, `{"status":"resolved","labels":{"alertname":"x","source":"y"}}`)
	f.Add(false, `{"labels":null}`)
	f.Fuzz(func(t *testing.T, cloudwatch bool, payload string) {
		var p map[string]any
		if json.Unmarshal([]byte(payload), &p) != nil {
			return
		}
		tr := trigger.Trigger{ID: "f", Type: trigger.TypeAlertmanager, Payload: p}
		if cloudwatch {
			tr.Type = trigger.TypeCloudWatchAlarm
		}
		a, err := FromTrigger(tr)
		if err != nil {
			return
		}
		if a.Fingerprint != Fingerprint(a.Labels) || a.Name() == "" {
			t.Fatalf("alert %+v", a)
		}
	})
}
