package coverage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/medic-sre/medic/catalog"
	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/trigger"
)

func loadTestCatalog(t *testing.T, path string) *Catalog {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadPacks(t *testing.T, dir string) *pack.Set {
	t.Helper()
	set, err := pack.LoadDir(dir)
	var problems rule.Problems
	if err != nil && !errors.As(err, &problems) {
		t.Fatal(err)
	}
	return set
}

func realCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Parse(catalog.Name, catalog.AlertsYAML)
	if err != nil {
		t.Fatalf("the shipped catalog does not parse:\n%v", err)
	}
	return c
}

// The test catalog against the test pack covers each way an entry can end:
// handled (auto by runner, approval declared, evidence by the notify
// machine through a backstop, undeclared), a rule whose action cannot be
// planned, a disabled rule, a disabled action, and no rule at all.
func TestReportOfTestCatalog(t *testing.T) {
	results, err := Evaluate(loadTestCatalog(t, "testdata/catalog.yaml"), loadPacks(t, "testdata/packs"))
	if err != nil {
		t.Fatal(err)
	}
	rep := Summarise("testdata/catalog.yaml", "testdata/packs", results)
	var out bytes.Buffer
	rep.WriteEntries(&out)
	rep.WriteTable(&out)
	want := `Host
  + host.disk (CWAgent disk_used_percent, expect auto): t.clean_disk -> t.clean [auto]
  x host.cpu (AWS/EC2 CPUUtilization, expect evidence): t.diagnose_cpu -> t.diagnose would NOT start: rule t.diagnose_cpu: action t.diagnose: parameter "samples": want an integer, got "medic-coverage-host.cpu"
systemd
  + systemd.unit_failed (SystemdUnitFailed, expect approval): t.restart_unit -> t.restart_after_approval [approval]
  - systemd.nginx_down (NginxDown, expect auto): no rule matches
Redis
  x redis.down (RedisDown, expect auto): t.uses_disabled_action -> t.disabled would NOT start: rule t.uses_disabled_action: action t.disabled is disabled
Queues
  + sqs.age (AWS/SQS ApproximateAgeOfOldestMessage, expect auto): t.page_on_sqs (backstop) -> t.page [evidence]
RDS
  + rds.storage (AWS/RDS FreeStorageSpace, expect approval): t.grow_storage -> t.grow_storage [undeclared]
service  handled  share  auto  approval  evidence  undeclared  as expected
Host     1/2      50%    1     0         0         0           1
systemd  1/2      50%    0     1         0         0           1
Redis    0/1      0%     0     0         0         0           0
Queues   1/1      100%   0     0         1         0           0
RDS      1/1      100%   0     0         0         1           0
total    4/7      57%    1     1         1         1           2
`
	if got := out.String(); got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	if rep.Total != 7 || rep.Handled != 4 {
		t.Errorf("total %d handled %d, want 7 and 4", rep.Total, rep.Handled)
	}
}

// Every entry of the shipped catalog becomes an event the sensors accept,
// and the trigger says what the catalog says: the alarm's metric,
// dimensions, statistic, comparison and threshold with a breaching
// datapoint, or the alert's name and labels.
func TestShippedCatalogEventsAreAcceptedAndFaithful(t *testing.T) {
	for _, e := range realCatalog(t).Alerts {
		body, hint, err := Event(&e)
		if err != nil {
			t.Fatalf("%s: %v", e.ID, err)
		}
		triggers, err := sensor.Parse(body, sensor.Request{Hint: hint})
		if err != nil || len(triggers) != 1 {
			t.Errorf("%s: the sensor refused the event (%d triggers): %v", e.ID, len(triggers), err)
			continue
		}
		if e.CloudWatch != nil {
			checkAlarmTrigger(t, &e, triggers[0])
		} else {
			checkAlertTrigger(t, &e, triggers[0])
		}
	}
}

func checkAlarmTrigger(t *testing.T, e *Entry, tr trigger.Trigger) {
	t.Helper()
	c, p := e.CloudWatch, tr.Payload
	if tr.Type != trigger.TypeCloudWatchAlarm || p["state"] != "ALARM" || p["previous_state"] != "OK" {
		t.Errorf("%s: type %s state %v from %v, want an alarm going OK -> ALARM", e.ID, tr.Type, p["state"], p["previous_state"])
	}
	for field, want := range map[string]any{"metric_name": c.Metric, "namespace": c.Namespace, "statistic": c.Statistic,
		"comparison": c.Comparison, "threshold": *c.Threshold, "instance_id": c.Dimensions["InstanceId"], "alarm_name": AlarmName(e)} {
		if p[field] != want {
			t.Errorf("%s: trigger.%s = %#v, want %#v", e.ID, field, p[field], want)
		}
	}
	dims, _ := p["dimensions"].(map[string]any)
	if len(dims) != len(c.Dimensions) {
		t.Errorf("%s: dimensions %v, want %v", e.ID, dims, c.Dimensions)
	}
	for k, v := range c.Dimensions {
		if dims[k] != v {
			t.Errorf("%s: dimensions.%s = %v, want %q", e.ID, k, dims[k], v)
		}
	}
	data, _ := p["reason_data"].(map[string]any)
	points, _ := data["recentDatapoints"].([]any)
	if len(points) != 1 || !breaches(c.Comparison, points[0].(float64), *c.Threshold) {
		t.Errorf("%s: datapoints %v do not breach %s %v", e.ID, points, c.Comparison, *c.Threshold)
	}
}

func breaches(comparison string, v, threshold float64) bool {
	switch comparison {
	case "GreaterThanThreshold":
		return v > threshold
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return false
}

func checkAlertTrigger(t *testing.T, e *Entry, tr trigger.Trigger) {
	t.Helper()
	a, p := e.Alertmanager, tr.Payload
	if tr.Type != trigger.TypeAlertmanager || p["status"] != "firing" || p["alertname"] != a.AlertName {
		t.Errorf("%s: type %s status %v alertname %v, want a firing %s", e.ID, tr.Type, p["status"], p["alertname"], a.AlertName)
	}
	labels, _ := p["labels"].(map[string]any)
	if len(labels) != len(a.Labels)+1 || labels["alertname"] != a.AlertName {
		t.Errorf("%s: labels %v, want %v and alertname", e.ID, labels, a.Labels)
	}
	for k, v := range a.Labels {
		if labels[k] != v {
			t.Errorf("%s: labels.%s = %v, want %q", e.ID, k, labels[k], v)
		}
	}
}

// The number `medic packs coverage` reports for the shipped catalog and
// packs is the one a direct use of the rule engine and the planner gives:
// an entry is handled when an enabled rule fires for its trigger and the
// rule's enabled action resolves its parameters and builds a plan.
func TestShippedCatalogCoverageAgreesWithDirectEvaluation(t *testing.T) {
	c, set := realCatalog(t), loadPacks(t, "../../packs")
	results, err := Evaluate(c, set)
	if err != nil {
		t.Fatal(err)
	}
	ix := rule.NewIndex(set.Rules())
	handled := 0
	for i, r := range results {
		if r.Refused != "" {
			t.Errorf("%s: refused: %s", r.Entry.ID, r.Refused)
		}
		body, hint, _ := Event(&c.Alerts[i])
		triggers, _ := sensor.Parse(body, sensor.Request{Hint: hint})
		want := directlyHandled(ix, set, triggers[0])
		if r.Handled != want {
			t.Errorf("%s: coverage says handled=%v, the engine says %v (matches %+v)", r.Entry.ID, r.Handled, want, r.Matches)
		}
		if want {
			handled++
		}
	}
	rep := Summarise(catalog.Name, "packs", results)
	if rep.Handled != handled || rep.Total != len(c.Alerts) {
		t.Errorf("report: %d/%d handled, direct evaluation: %d/%d", rep.Handled, rep.Total, handled, len(c.Alerts))
	}
}

func directlyHandled(ix *rule.Index, set *pack.Set, tr trigger.Trigger) bool {
	for _, ev := range ix.Evaluate(tr, kv.Map{}) {
		if !ev.Fires() {
			continue
		}
		a, ok := set.Action(ev.Rule.Action.Ref)
		if !ok || !a.Enabled {
			continue
		}
		params, err := a.ResolveParams(ev.Params)
		if err != nil {
			continue
		}
		if _, err := action.Build(a, params, action.Settings{PollSeconds: 10}); err == nil {
			return true
		}
	}
	return false
}

// The shipped catalog stays within what the issue asks for: each source it
// cites is used, and every service named by the issue has entries.
func TestShippedCatalogCoversTheIssuesServices(t *testing.T) {
	c := realCatalog(t)
	services, used := map[string]int{}, map[string]bool{}
	for _, e := range c.Alerts {
		services[e.Service]++
		used[e.Source] = true
	}
	for _, s := range []string{"EC2", "Auto Scaling", "EBS", "ELB", "RDS", "Lambda", "SQS", "SNS", "ECS", "DynamoDB",
		"ElastiCache", "API Gateway", "Host (CloudWatch agent)", "Host (node_exporter)", "systemd", "nginx", "PostgreSQL", "MySQL", "Redis"} {
		if services[s] == 0 {
			t.Errorf("no entry for service %q", s)
		}
	}
	for key := range c.Sources {
		if !used[key] {
			t.Errorf("source %q is cited by no entry", key)
		}
	}
}

// Alert data is attacker-written: label and dimension values that look like
// templates, JSON or terminal escapes travel as data. The event stays valid
// JSON, the sensor accepts it, the trigger carries the value unchanged, and
// the rules that pass it on to an action still plan.
func TestHostileValuesTravelAsData(t *testing.T) {
	hostile := []string{`{{ st2kv.system.token }}`, `"}], "x": {"`, `$(reboot)`, `ünïcødé ✓`, `a\b`, strings.Repeat("x", 1000)}
	set := loadPacks(t, "testdata/packs")
	for _, v := range hostile {
		c := &Catalog{Sources: map[string]string{"s": "test"}, Alerts: []Entry{{
			ID: "hostile", Service: "systemd", Source: "s", Title: "t", Expect: "auto",
			Alertmanager: &Alertmanager{AlertName: "SystemdUnitFailed", Labels: map[string]string{"name": v, "instance_id": "i-1"}, Expr: v},
		}, {
			ID: "hostile-cw", Service: "Host", Source: "s", Title: v, Expect: "auto",
			CloudWatch: &CloudWatch{Namespace: "CWAgent", Metric: "disk_used_percent", Dimensions: map[string]string{"InstanceId": "i-1", "path": v},
				Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: new(90.0)},
		}}}
		if ps := c.check("hostile", nil); len(ps) > 0 {
			t.Fatalf("%q: %v", v, ps)
		}
		for i := range c.Alerts {
			body, hint, err := Event(&c.Alerts[i])
			if err != nil {
				t.Fatal(err)
			}
			triggers, err := sensor.Parse(body, sensor.Request{Hint: hint})
			if err != nil {
				t.Fatalf("%q: refused: %v", v, err)
			}
			p := triggers[0].Payload
			if got := p["labels"]; i == 0 && got.(map[string]any)["name"] != v {
				t.Errorf("%q: label arrived as %v", v, got)
			}
			if got := p["dimensions"]; i == 1 && got.(map[string]any)["path"] != v {
				t.Errorf("%q: dimension arrived as %v", v, got)
			}
		}
		results, err := Evaluate(c, set)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if !r.Handled {
				t.Errorf("%q: %s not handled: %+v", v, r.Entry.ID, r.Matches)
			}
		}
	}
}

// The docs and the README state the size of the shipped catalog; keep them
// true when entries are added.
func TestDocsStateTheCatalogSize(t *testing.T) {
	n := fmt.Sprint(len(realCatalog(t).Alerts))
	for file, phrase := range map[string]string{
		"../../docs/packs-catalog.md": "holds " + n + " alerts",
		"../../README.md":             "which of " + n + " common alerts",
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), phrase) {
			t.Errorf("%s does not say %q", file, phrase)
		}
	}
}

// Synthesised events have the shape of the real samples in events/: the
// same keys at the same places, so nothing the sensors read is missing and
// nothing is invented.
func TestEventsHaveTheShapeOfTheSamples(t *testing.T) {
	c := loadTestCatalog(t, "testdata/catalog.yaml")
	samples := map[string]string{
		"cloudwatch":   "../../events/cloudwatch/eventbridge-alarm-state-change.json",
		"alertmanager": "../../events/alertmanager/webhook-firing.json",
	}
	for _, e := range c.Alerts {
		body, _, err := Event(&e)
		if err != nil {
			t.Fatal(err)
		}
		sample, err := os.ReadFile(samples[e.Sensor()])
		if err != nil {
			t.Fatal(err)
		}
		got, want := keyPaths(t, body), keyPaths(t, sample)
		// Dimensions, labels and annotations are the alert's own.
		for _, paths := range []map[string]bool{got, want} {
			for p := range paths {
				if strings.Contains(p, ".dimensions.") || strings.Contains(p, "abels.") || strings.Contains(p, "nnotations.") {
					delete(paths, p)
				}
			}
		}
		for p := range want {
			if !got[p] {
				t.Errorf("%s: event lacks %s, which the sample has", e.ID, p)
			}
		}
		for p := range got {
			if !want[p] {
				t.Errorf("%s: event has %s, which the sample lacks", e.ID, p)
			}
		}
	}
}

// keyPaths lists the object keys of a JSON document as dotted paths, with
// [] for the items of an array.
func keyPaths(t *testing.T, doc []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				paths[prefix+"."+k] = true
				walk(prefix+"."+k, child)
			}
		case []any:
			for _, child := range x {
				walk(prefix+"[]", child)
			}
		}
	}
	walk("", v)
	return paths
}
