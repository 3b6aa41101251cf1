package sensor

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/trigger"
)

// alertmanagerWebhook is Alertmanager's webhook_config body, version 4.
type alertmanagerWebhook struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   float64             `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []alertmanagerAlert `json:"alerts"`
}

// alertmanagerAlert is one alert of the group. Its fingerprint is not read:
// see alertTrigger.
type alertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

var alertStatuses = map[string]bool{"firing": true, "resolved": true}

// webhookVersion holds what tells the Alertmanager-like webhooks apart
// before the body is decoded for real: version 3's groupKey is a number,
// and Grafana's webhook is version 1 with an orgId.
type webhookVersion struct {
	Version json.RawMessage `json:"version"`
	OrgID   json.RawMessage `json:"orgId"`
}

// checkAlertmanagerVersion refuses, by name, the Alertmanager-like bodies
// Medic does not read, so the sender's owner knows what to change.
func checkAlertmanagerVersion(body []byte) error {
	var v webhookVersion
	if err := json.Unmarshal(body, &v); err != nil {
		return decodeErr("", err)
	}
	var version string
	if v.Version != nil && json.Unmarshal(v.Version, &version) != nil {
		// %.40q: the value is the sender's and may be any size.
		return fieldErr("version", "is %.40q, not a string; want \"4\" for an Alertmanager webhook", v.Version)
	}
	switch {
	case version == "4":
		return nil
	case v.OrgID != nil:
		return fieldErr("version", "is %.40q and the body has an orgId: this is a Grafana alerting webhook, "+
			"not an Alertmanager one (version 4); post it to /v1/webhooks/NAME for a core.st2.webhook trigger, "+
			"or send Grafana's alerts through an Alertmanager", version)
	case version == "3":
		return fieldErr("version", "is \"3\": Alertmanager webhook version 3 (Alertmanager before 0.6, "+
			"groupKey a number) is not understood; Alertmanager 0.6 and later send version 4")
	}
	return fieldErr("version", "is %.40q; only Alertmanager webhook version 4 is understood", version)
}

// parseAlertmanager gives one prometheus.alert trigger per alert in the
// group: rules act on single alerts, and grouping is consolidation's job.
func parseAlertmanager(body []byte, _ Request) ([]trigger.Trigger, error) {
	if err := checkAlertmanagerVersion(body); err != nil {
		return nil, err
	}
	var w alertmanagerWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, decodeErr("", err)
	}
	if len(w.Alerts) == 0 {
		return nil, fieldErr("alerts", "is empty")
	}
	out := make([]trigger.Trigger, 0, len(w.Alerts))
	for i, al := range w.Alerts {
		t, err := w.alertTrigger(fmt.Sprintf("alerts[%d]", i), al)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// alertTrigger builds the trigger of one alert of the group; at is its
// JSON path.
func (w *alertmanagerWebhook) alertTrigger(at string, al alertmanagerAlert) (trigger.Trigger, error) {
	status, err := w.alertStatus(at, al)
	if err != nil {
		return trigger.Trigger{}, err
	}
	starts, err := parseAlertTime(at+".startsAt", al.StartsAt)
	if err != nil {
		return trigger.Trigger{}, err
	}
	ends, err := parseAlertTime(at+".endsAt", al.EndsAt)
	if err != nil {
		return trigger.Trigger{}, err
	}
	if starts.IsZero() {
		return trigger.Trigger{}, fieldErr(at+".startsAt", "is missing")
	}
	when := starts
	if status == "resolved" && !ends.IsZero() {
		when = ends
	}
	t := trigger.Trigger{
		Type:   trigger.TypeAlertmanager,
		Source: "alertmanager",
		Time:   when,
		Payload: map[string]any{
			"status":        status,
			"alertname":     al.Labels["alertname"],
			"instance":      al.Labels["instance"],
			"labels":        stringMap(al.Labels),
			"annotations":   stringMap(al.Annotations),
			"starts_at":     starts.Format(time.RFC3339Nano),
			"ends_at":       formatOptionalTime(ends),
			"generator_url": al.GeneratorURL,
			"group_key":     w.GroupKey,
			"group_labels":  stringMap(w.GroupLabels),
			"receiver":      w.Receiver,
			"external_url":  w.ExternalURL,
		},
	}
	// Identity is Medic's own, from the labels: the sender's fingerprint is
	// not trusted, as alerts of one group may share it (a buggy or
	// hand-written sender) and would then be taken for redeliveries of
	// each other.
	a, err := alert.FromTrigger(t)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // drop the trigger id, which is not known yet
		}
		return trigger.Trigger{}, fieldErr(at+".labels", "cannot identify the alert: %v", err)
	}
	t.Payload["fingerprint"] = a.Fingerprint
	// Alertmanager re-sends a group every repeat_interval; the same alert in
	// the same status from the same start is the same event.
	t.ID = "alertmanager:" + a.Fingerprint + ":" + status + ":" + starts.Format(time.RFC3339Nano)
	return t, nil
}

// alertStatus is the alert's status, or the group's when the alert has
// none (some senders only set the group's).
func (w *alertmanagerWebhook) alertStatus(at string, al alertmanagerAlert) (string, error) {
	switch {
	case alertStatuses[al.Status]:
		return al.Status, nil
	case al.Status != "":
		return "", fieldErr(at+".status", "is %.40q, want firing or resolved", al.Status)
	case alertStatuses[w.Status]:
		return w.Status, nil
	}
	return "", fieldErr(at+".status", "is missing and the group's status is %.40q; want firing or resolved", w.Status)
}

// parseAlertTime accepts RFC 3339 and treats Go's zero time, which
// Alertmanager sends as endsAt of a firing alert, as absent.
func parseAlertTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fieldErr(field, "is %q, not an RFC 3339 time", s)
	}
	if t.Year() <= 1 {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
