// Package coverage measures what the installed packs do with common alerts:
// each entry of a catalog (catalog/alerts.yaml) becomes the event its sender
// really emits, which goes through Medic's own path — the sensor, the rules,
// the action's parameters and its execution plan — without running anything.
package coverage

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/pack"
)

// Catalog is a list of common alerts and the citations they come from.
type Catalog struct {
	// Sources maps a source key to its citation.
	Sources map[string]string `yaml:"sources"`
	Alerts  []Entry           `yaml:"alerts"`
}

// Entry is one common alert. Exactly one of CloudWatch and Alertmanager is
// set: it says which sender emits the alert and in what shape.
type Entry struct {
	ID      string `yaml:"id" json:"id"`
	Service string `yaml:"service" json:"service"`
	Source  string `yaml:"source" json:"source"`
	Title   string `yaml:"title" json:"title"`
	// Expect is the handling we judge appropriate: pack.HandlingAuto,
	// HandlingApproval or HandlingEvidence.
	Expect       string        `yaml:"expect" json:"expect"`
	Note         string        `yaml:"note,omitempty" json:"note,omitempty"`
	CloudWatch   *CloudWatch   `yaml:"cloudwatch,omitempty" json:"cloudwatch,omitempty"`
	Alertmanager *Alertmanager `yaml:"alertmanager,omitempty" json:"alertmanager,omitempty"`
}

// CloudWatch is a metric alarm as its source recommends it.
type CloudWatch struct {
	Namespace  string            `yaml:"namespace" json:"namespace"`
	Metric     string            `yaml:"metric" json:"metric"`
	Dimensions map[string]string `yaml:"dimensions" json:"dimensions"`
	Statistic  string            `yaml:"statistic" json:"statistic"`
	Comparison string            `yaml:"comparison" json:"comparison"`
	Threshold  *float64          `yaml:"threshold" json:"threshold"`
}

// Alertmanager is a Prometheus alert: its name, the labels it carries
// (without alertname) and the rule's expression.
type Alertmanager struct {
	AlertName string            `yaml:"alertname" json:"alertname"`
	Labels    map[string]string `yaml:"labels" json:"labels"`
	Expr      string            `yaml:"expr,omitempty" json:"expr,omitempty"`
}

// Sensor names the sender family of an entry: "cloudwatch" or "alertmanager".
func (e *Entry) Sensor() string {
	if e.CloudWatch != nil {
		return "cloudwatch"
	}
	return "alertmanager"
}

// Alert is the metric or alert name, for people.
func (e *Entry) Alert() string {
	if e.CloudWatch != nil {
		return e.CloudWatch.Namespace + " " + e.CloudWatch.Metric
	}
	return e.Alertmanager.AlertName
}

// Problem is one thing wrong with a catalog file.
type Problem struct {
	File   string
	Line   int
	Field  string // e.g. alerts[3].cloudwatch.comparison
	Reason string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Field, p.Reason)
}

// Problems are all the problems found in one catalog.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Limits on catalog values: a catalog may come from any file (--catalog),
// and its values end up in events, tables and terminals.
const (
	maxEntries   = 5000
	maxTextBytes = 1024
	maxExprBytes = 8192
	maxMapLen    = 30
)

var (
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	labelNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	// CloudWatch statistics: the five simple ones and percentiles (p90, p99.9).
	statisticPattern = regexp.MustCompile(`^(Average|Sum|Minimum|Maximum|SampleCount|p(100|[0-9]{1,2})(\.[0-9]{1,2})?)$`)
	// Static-threshold comparisons: an anomaly band has no single threshold.
	comparisons = []string{"GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}
	expects     = []string{pack.HandlingAuto, pack.HandlingApproval, pack.HandlingEvidence}
)

// Parse reads and checks a catalog. name is how problems refer to the file.
// Every problem is reported, each with its line and field.
func Parse(name string, data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ps := c.check(name, entryLines(&root))
	if len(ps) > 0 {
		return nil, ps
	}
	return &c, nil
}

// entryLines gives the line of each item of the top-level alerts list.
func entryLines(root *yaml.Node) []int {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	top := root.Content[0].Content
	for i := 0; i+1 < len(top); i += 2 {
		if top[i].Value == "alerts" && top[i+1].Kind == yaml.SequenceNode {
			lines := make([]int, len(top[i+1].Content))
			for j, n := range top[i+1].Content {
				lines[j] = n.Line
			}
			return lines
		}
	}
	return nil
}

func (c *Catalog) check(name string, lines []int) Problems {
	var ps Problems
	switch {
	case len(c.Alerts) == 0:
		return Problems{{name, 1, "alerts", "is empty: a catalog needs at least one alert"}}
	case len(c.Alerts) > maxEntries:
		return Problems{{name, 1, "alerts", fmt.Sprintf("has %d entries, over the limit of %d", len(c.Alerts), maxEntries)}}
	}
	seen := map[string]int{}
	for i := range c.Alerts {
		line := 1
		if i < len(lines) {
			line = lines[i]
		}
		for _, p := range c.Alerts[i].check(c.Sources) {
			ps = append(ps, Problem{name, line, fmt.Sprintf("alerts[%d].%s", i, p.field), p.reason})
		}
		if j, dup := seen[c.Alerts[i].ID]; dup && c.Alerts[i].ID != "" {
			ps = append(ps, Problem{name, line, fmt.Sprintf("alerts[%d].id", i), fmt.Sprintf("%q is also the id of alerts[%d]", c.Alerts[i].ID, j)})
		}
		seen[c.Alerts[i].ID] = i
	}
	return ps
}

type fieldProblem struct{ field, reason string }

func (e *Entry) check(sources map[string]string) []fieldProblem {
	var ps []fieldProblem
	add := func(field, format string, args ...any) {
		ps = append(ps, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	if !idPattern.MatchString(e.ID) {
		add("id", "%q must be 1-128 characters of letters, digits, '.', '_' and '-'", e.ID)
	}
	for field, v := range map[string]string{"service": e.Service, "title": e.Title} {
		if err := checkText(v, true); err != nil {
			add(field, "%v", err)
		}
	}
	if err := checkText(e.Note, false); err != nil {
		add("note", "%v", err)
	}
	if _, ok := sources[e.Source]; !ok {
		add("source", "%q is not a key of sources", e.Source)
	}
	if !slices.Contains(expects, e.Expect) {
		add("expect", "must be %s, got %q", strings.Join(expects, ", "), e.Expect)
	}
	switch {
	case (e.CloudWatch == nil) == (e.Alertmanager == nil):
		add("cloudwatch", "give exactly one of cloudwatch and alertmanager")
	case e.CloudWatch != nil:
		for _, p := range e.CloudWatch.check() {
			add("cloudwatch."+p.field, "%s", p.reason)
		}
	default:
		for _, p := range e.Alertmanager.check() {
			add("alertmanager."+p.field, "%s", p.reason)
		}
	}
	return ps
}

func (c *CloudWatch) check() []fieldProblem {
	var ps []fieldProblem
	add := func(field, format string, args ...any) {
		ps = append(ps, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	for field, v := range map[string]string{"namespace": c.Namespace, "metric": c.Metric} {
		if err := checkText(v, true); err != nil {
			add(field, "%v", err)
		}
	}
	if !statisticPattern.MatchString(c.Statistic) {
		add("statistic", "%q is not a CloudWatch statistic (Average, Sum, Minimum, Maximum, SampleCount, pNN)", c.Statistic)
	}
	if !slices.Contains(comparisons, c.Comparison) {
		add("comparison", "must be %s, got %q", strings.Join(comparisons, ", "), c.Comparison)
	}
	if c.Threshold == nil {
		add("threshold", "is required")
	}
	for _, p := range checkMap(c.Dimensions, nil) {
		add("dimensions"+p.field, "%s", p.reason)
	}
	return ps
}

func (a *Alertmanager) check() []fieldProblem {
	var ps []fieldProblem
	add := func(field, format string, args ...any) {
		ps = append(ps, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	if err := checkText(a.AlertName, true); err != nil {
		add("alertname", "%v", err)
	}
	if len(a.Expr) > maxExprBytes || strings.ContainsFunc(a.Expr, isControl) {
		add("expr", "must be at most %d bytes without control characters", maxExprBytes)
	}
	if _, ok := a.Labels["alertname"]; ok {
		add("labels.alertname", "give the name in alertmanager.alertname, not as a label")
	}
	for _, p := range checkMap(a.Labels, labelNamePattern) {
		add("labels"+p.field, "%s", p.reason)
	}
	return ps
}

// checkMap checks dimension or label names (against names, when given) and
// values.
func checkMap(m map[string]string, names *regexp.Regexp) []fieldProblem {
	if len(m) > maxMapLen {
		return []fieldProblem{{"", fmt.Sprintf("has %d entries, over the limit of %d", len(m), maxMapLen)}}
	}
	var ps []fieldProblem
	for _, k := range sortedKeys(m) {
		switch {
		case names != nil && !names.MatchString(k):
			ps = append(ps, fieldProblem{"." + k, "is not a valid name ([A-Za-z_][A-Za-z0-9_]*)"})
		case names == nil && checkText(k, true) != nil:
			ps = append(ps, fieldProblem{"." + k, "name must be 1-1024 bytes without control characters"})
		}
		if err := checkText(m[k], true); err != nil {
			ps = append(ps, fieldProblem{"." + k, fmt.Sprintf("value %v", err)})
		}
	}
	return ps
}

// checkText refuses control characters (they would reach terminals and
// chat as escape sequences) and overlong text.
func checkText(s string, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return errors.New("is required")
	case len(s) > maxTextBytes:
		return fmt.Errorf("is %d bytes, over the limit of %d", len(s), maxTextBytes)
	case strings.ContainsFunc(s, isControl):
		return fmt.Errorf("%q contains a control character", s)
	}
	return nil
}

func isControl(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
