// Package alert gives a trigger its identity: the labels that name the
// thing alerting (source, account, region, name, dimensions or labels), a
// fingerprint of them, and whether it fires or resolves. Two deliveries of
// the same alarm (EventBridge and SNS, or a repeat an hour later) share a
// fingerprint; different instances of one alarm rule do not. The identity
// is always Medic's own hash of the normalised labels: a fingerprint or id
// the sender supplies is never trusted for it (internal/sensor builds an
// Alertmanager trigger's id and fingerprint from this one).
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// Status is where an alert stands.
type Status string

const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
	// Unknown is CloudWatch's INSUFFICIENT_DATA: neither fires nor resolves.
	Unknown Status = "unknown"
)

// Reserved label names Medic sets on every alert.
const (
	LabelName    = "alertname"
	LabelSource  = "source"
	LabelAccount = "account"
	LabelRegion  = "region"
)

// Alert is the consolidation view of one trigger.
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Status      Status            `json:"status"`
	// At is when the source says the state was reached.
	At time.Time `json:"at"`
}

// Name is the alert's alertname label.
func (a Alert) Name() string { return a.Labels[LabelName] }

// IsAlert reports whether the trigger type carries an alert (as opposed
// to a timer or a generic webhook, which are never consolidated).
func IsAlert(t trigger.Trigger) bool {
	return t.Type == trigger.TypeCloudWatchAlarm || t.Type == trigger.TypeAlertmanager
}

// FromTrigger builds the alert of a CloudWatch or Alertmanager trigger.
func FromTrigger(t trigger.Trigger) (Alert, error) {
	var (
		a   Alert
		err error
	)
	switch t.Type {
	case trigger.TypeCloudWatchAlarm:
		a, err = fromCloudWatch(t.Payload)
	case trigger.TypeAlertmanager:
		a, err = fromAlertmanager(t.Payload)
	default:
		return Alert{}, fmt.Errorf("alert: trigger %s of type %q is not an alert", t.ID, t.Type)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alert: trigger %s (%s): %w", t.ID, t.Type, err)
	}
	a.Labels[LabelSource] = t.Type
	a.Fingerprint = Fingerprint(a.Labels)
	a.At = t.Time
	return a, nil
}

// fromCloudWatch: identity is account, region, alarm name and dimensions.
func fromCloudWatch(p map[string]any) (Alert, error) {
	name, _ := p["alarm_name"].(string)
	if name == "" {
		return Alert{}, fmt.Errorf("payload.alarm_name: missing or not a string")
	}
	labels := map[string]string{LabelName: name}
	for _, k := range []string{LabelAccount, LabelRegion, "instance_id", "metric_name", "namespace"} {
		if v := scalar(p[k]); v != "" {
			labels[k] = v
		}
	}
	if err := addLabels(labels, p["dimensions"], "payload.dimensions"); err != nil {
		return Alert{}, err
	}
	state, _ := p["state"].(string)
	var st Status
	switch strings.ToUpper(state) {
	case "ALARM":
		st = Firing
	case "OK":
		st = Resolved
	case "INSUFFICIENT_DATA":
		st = Unknown
	default:
		return Alert{}, fmt.Errorf("payload.state: %q is not ALARM, OK or INSUFFICIENT_DATA", state)
	}
	return Alert{Labels: labels, Status: st}, nil
}

// fromAlertmanager: identity is the alert's label set, as in Alertmanager.
func fromAlertmanager(p map[string]any) (Alert, error) {
	labels := map[string]string{}
	if err := addLabels(labels, p["labels"], "payload.labels"); err != nil {
		return Alert{}, err
	}
	if labels[LabelName] == "" {
		if name, _ := p["alertname"].(string); name != "" {
			labels[LabelName] = name
		} else {
			return Alert{}, fmt.Errorf("payload.labels.alertname: missing")
		}
	}
	status, _ := p["status"].(string)
	switch status {
	case "firing":
		return Alert{Labels: labels, Status: Firing}, nil
	case "resolved":
		return Alert{Labels: labels, Status: Resolved}, nil
	}
	return Alert{}, fmt.Errorf("payload.status: %q is not firing or resolved", status)
}

// addLabels copies a JSON object of scalars into labels. The reserved
// names are Medic's own, so a dimension or label cannot override them.
func addLabels(labels map[string]string, v any, field string) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want an object of name to value, got %T", field, v)
	}
	for k, val := range m {
		if k == LabelSource {
			return fmt.Errorf("%s.%s: %q is reserved for the trigger type", field, k, k)
		}
		s := scalar(val)
		if s == "" && val != nil && val != "" {
			return fmt.Errorf("%s.%s: want a string, number or boolean, got %T", field, k, val)
		}
		if s != "" {
			labels[k] = s
		}
	}
	return nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64, bool, int, int64:
		return fmt.Sprint(x)
	}
	return ""
}

// Fingerprint hashes a label set independently of map order; empty values
// count as absent, as in Alertmanager.
func Fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k, v := range labels {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		// Length-prefixed so no label content can forge a separator.
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(labels[k]), labels[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Summary renders labels as {a="1", b="2"} in name order.
func Summary(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
