package coverage

import (
	"strings"
	"testing"
)

const goodEntry = `  - id: a.b
    service: EC2
    source: s
    title: CPU high
    expect: evidence
    cloudwatch:
      namespace: AWS/EC2
      metric: CPUUtilization
      dimensions: {InstanceId: i-1}
      statistic: Average
      comparison: GreaterThanThreshold
      threshold: 80
`

// Each bad catalog is refused with the file, the line of the entry, the
// field and the reason; values are checked as if an attacker wrote them.
func TestParseRefusesBadCatalogs(t *testing.T) {
	head := "sources: {s: a source}\nalerts:\n"
	// want lists the expected problems, separated by "|".
	cases := []struct{ name, body, want string }{
		{"unknown field", head + goodEntry + "    colour: red\n", "field colour not found"},
		{"not yaml", "alerts: [", "c.yaml: yaml:"},
		{"empty", "sources: {}\nalerts: []\n", "c.yaml:1: alerts: is empty"},
		{"bad expect", head + strings.Replace(goodEntry, "expect: evidence", "expect: maybe", 1), `c.yaml:3: alerts[0].expect: must be auto, approval, evidence, got "maybe"`},
		{"unknown source", head + strings.Replace(goodEntry, "source: s", "source: t", 1), `alerts[0].source: "t" is not a key of sources`},
		{"duplicate id", head + goodEntry + goodEntry, `c.yaml:15: alerts[1].id: "a.b" is also the id of alerts[0]`},
		{"id with spaces", head + strings.Replace(goodEntry, "id: a.b", "id: a b", 1), `alerts[0].id: "a b" must be`},
		{"id with escape", head + strings.Replace(goodEntry, "id: a.b", `id: "a\e[31m"`, 1), `alerts[0].id:`},
		{"title with control character", head + strings.Replace(goodEntry, "title: CPU high", `title: "CPU\u0007high"`, 1), `alerts[0].title: "CPU\ahigh" contains a control character`},
		{"title too long", head + strings.Replace(goodEntry, "title: CPU high", "title: "+strings.Repeat("x", 2000), 1), "alerts[0].title: is 2000 bytes, over the limit of 1024"},
		{"missing service", head + strings.Replace(goodEntry, "service: EC2", "service: ''", 1), "alerts[0].service: is required"},
		{"bad comparison", head + strings.Replace(goodEntry, "GreaterThanThreshold", "LessThanLowerOrGreaterThanUpperThreshold", 1), "alerts[0].cloudwatch.comparison: must be"},
		{"bad statistic", head + strings.Replace(goodEntry, "Average", "Mean", 1), `alerts[0].cloudwatch.statistic: "Mean" is not a CloudWatch statistic`},
		{"percentile statistic", head + strings.Replace(goodEntry, "Average", "p99.9", 1), ""},
		{"no threshold", head + strings.Replace(goodEntry, "      threshold: 80\n", "", 1), "alerts[0].cloudwatch.threshold: is required"},
		{"threshold not a number", head + strings.Replace(goodEntry, "threshold: 80", "threshold: lots", 1), "cannot unmarshal"},
		{"dimension value empty", head + strings.Replace(goodEntry, "InstanceId: i-1", "InstanceId: ''", 1), "alerts[0].cloudwatch.dimensions.InstanceId: value is required"},
		{"both sensors", head + goodEntry + "    alertmanager: {alertname: X, labels: {}}\n", "give exactly one of cloudwatch and alertmanager"},
		{"no sensor", head + "  - {id: x, service: s, source: s, title: t, expect: auto}\n", "alerts[0].cloudwatch: give exactly one of cloudwatch and alertmanager"},
		{"bad label name", head + "  - {id: x, service: s, source: s, title: t, expect: auto, alertmanager: {alertname: X, labels: {\"bad-name\": v}}}\n",
			"alerts[0].alertmanager.labels.bad-name: is not a valid name"},
		{"alertname as a label", head + "  - {id: x, service: s, source: s, title: t, expect: auto, alertmanager: {alertname: X, labels: {alertname: Y}}}\n",
			"alerts[0].alertmanager.labels.alertname: give the name in alertmanager.alertname"},
		{"label value with newline", head + "  - {id: x, service: s, source: s, title: t, expect: auto, alertmanager: {alertname: X, labels: {a: \"x\\ny\"}}}\n",
			"alerts[0].alertmanager.labels.a: value \"x\\ny\" contains a control character"},
		{"every problem reported", head + strings.Replace(strings.Replace(goodEntry, "expect: evidence", "expect: maybe", 1), "Average", "Mean", 1),
			"alerts[0].expect: must be|alerts[0].cloudwatch.statistic: \"Mean\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.body))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("want no problem, got:\n%v", err)
			case c.want != "" && err == nil:
				t.Errorf("want %q, got no problem", c.want)
			case c.want != "":
				for _, want := range strings.Split(c.want, "|") {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("want %q, got:\n%v", want, err)
					}
				}
			}
		})
	}
}

// A catalog built in Go without Parse cannot make Event panic.
func TestEventRefusesUncheckedEntries(t *testing.T) {
	for _, e := range []Entry{
		{ID: "neither"},
		{ID: "no-threshold", CloudWatch: &CloudWatch{Namespace: "n", Metric: "m"}},
		{ID: "both", CloudWatch: &CloudWatch{}, Alertmanager: &Alertmanager{}},
	} {
		if _, _, err := Event(&e); err == nil || !strings.Contains(err.Error(), e.ID) {
			t.Errorf("%s: want an error naming the entry, got %v", e.ID, err)
		}
	}
}
