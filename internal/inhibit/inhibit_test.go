package inhibit

import (
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/alert"
)

func mk(status alert.Status, labels map[string]string) alert.Alert {
	return alert.Alert{Labels: labels, Status: status, Fingerprint: alert.Fingerprint(labels)}
}

func TestInstanceDownInhibitsServiceAlerts(t *testing.T) {
	rules, err := Compile([]Spec{{Name: "down-explains-services", SourceMatchers: []string{"alertname=InstanceDown"},
		TargetMatchers: []string{`alertname=~"Service.*"`}, Equal: []string{"instance"}}})
	if err != nil {
		t.Fatal(err)
	}
	down := mk(alert.Firing, map[string]string{"alertname": "InstanceDown", "instance": "web-1"})
	svc1 := mk(alert.Firing, map[string]string{"alertname": "ServiceNginxDown", "instance": "web-1"})
	svc2 := mk(alert.Firing, map[string]string{"alertname": "ServiceNginxDown", "instance": "web-2"})
	got := Check(rules, svc1, []alert.Alert{down, svc1, svc2})
	if got == nil || got.Fingerprint != down.Fingerprint || got.Rule != "down-explains-services" || got.Name != "InstanceDown" {
		t.Fatalf("service on the down instance: %+v", got)
	}
	if got := Check(rules, svc2, []alert.Alert{down, svc1, svc2}); got != nil {
		t.Fatalf("service on another instance inhibited by %+v", got)
	}
	resolvedDown := down
	resolvedDown.Status = alert.Resolved
	if got := Check(rules, svc1, []alert.Alert{resolvedDown}); got != nil {
		t.Fatal("a resolved source still inhibits")
	}
	if got := Check(rules, down, []alert.Alert{down, svc1}); got != nil {
		t.Fatal("the source inhibited itself")
	}
}

func TestBothSidesAndMissingEqualLabels(t *testing.T) {
	rules, _ := Compile([]Spec{{SourceMatchers: []string{"severity=~critical|warning"}, TargetMatchers: []string{"severity=warning"}, Equal: []string{"cluster"}}})
	w1 := mk(alert.Firing, map[string]string{"alertname": "A", "severity": "warning"})
	w2 := mk(alert.Firing, map[string]string{"alertname": "B", "severity": "warning"})
	crit := mk(alert.Firing, map[string]string{"alertname": "C", "severity": "critical"})
	if got := Check(rules, w1, []alert.Alert{w2}); got != nil {
		t.Fatal("a warning that is also a source inhibited another both-sides warning")
	}
	// cluster is absent on both: equal, as in Alertmanager.
	if got := Check(rules, w1, []alert.Alert{w2, crit}); got == nil || got.Fingerprint != crit.Fingerprint {
		t.Fatalf("critical should inhibit: %+v", got)
	}
}

func TestCompileErrors(t *testing.T) {
	for want, spec := range map[string]Spec{
		"inhibit_rules[0].source_matchers": {SourceMatchers: []string{"bad"}, TargetMatchers: []string{"a=b"}},
		"x.target_matchers":                {Name: "x", SourceMatchers: []string{"a=b"}, TargetMatchers: []string{"a=~("}},
		"both required":                    {SourceMatchers: []string{"a=b"}},
	} {
		if _, err := Compile([]Spec{spec}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}
