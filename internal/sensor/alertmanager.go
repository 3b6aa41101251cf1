package sensor

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// alertmanagerWebhook is Alertmanager's webhook_config body, version 4.
type alertmanagerWebhook struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   float64           `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
}

var alertStatuses = map[string]bool{"firing": true, "resolved": true}

// parseAlertmanager gives one prometheus.alert trigger per alert in the
// group: rules act on single alerts, and grouping is consolidation's job.
func parseAlertmanager(body []byte) ([]trigger.Trigger, error) {
	var w alertmanagerWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, decodeErr("", err)
	}
	if w.Version != "4" {
		return nil, fieldErr("version", "is %q; only Alertmanager webhook version 4 is understood", w.Version)
	}
	if len(w.Alerts) == 0 {
		return nil, fieldErr("alerts", "is empty")
	}
	out := make([]trigger.Trigger, 0, len(w.Alerts))
	for i, al := range w.Alerts {
		at := fmt.Sprintf("alerts[%d]", i)
		if !alertStatuses[al.Status] {
			return nil, fieldErr(at+".status", "is %q, want firing or resolved", al.Status)
		}
		starts, err := parseAlertTime(at+".startsAt", al.StartsAt)
		if err != nil {
			return nil, err
		}
		ends, err := parseAlertTime(at+".endsAt", al.EndsAt)
		if err != nil {
			return nil, err
		}
		if starts.IsZero() {
			return nil, fieldErr(at+".startsAt", "is missing")
		}
		fingerprint := al.Fingerprint
		if fingerprint == "" {
			fingerprint = labelsFingerprint(al.Labels)
		}
		when := starts
		if al.Status == "resolved" && !ends.IsZero() {
			when = ends
		}
		out = append(out, trigger.Trigger{
			// Alertmanager re-sends a group every repeat_interval; the same
			// alert in the same status from the same start is the same event.
			ID:     "alertmanager:" + fingerprint + ":" + al.Status + ":" + starts.Format(time.RFC3339Nano),
			Type:   trigger.TypeAlertmanager,
			Source: "alertmanager",
			Time:   when,
			Payload: map[string]any{
				"status":        al.Status,
				"alertname":     al.Labels["alertname"],
				"instance":      al.Labels["instance"],
				"labels":        stringMap(al.Labels),
				"annotations":   stringMap(al.Annotations),
				"starts_at":     starts.Format(time.RFC3339Nano),
				"ends_at":       formatOptionalTime(ends),
				"fingerprint":   fingerprint,
				"generator_url": al.GeneratorURL,
				"group_key":     w.GroupKey,
				"group_labels":  stringMap(w.GroupLabels),
				"receiver":      w.Receiver,
				"external_url":  w.ExternalURL,
			},
		})
	}
	return out, nil
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

// labelsFingerprint stands in for the fingerprint older Alertmanagers omit:
// a hash of the sorted label set, which is what identifies an alert.
func labelsFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		parts = append(parts, k, labels[k])
	}
	return stableID("", parts...)[:16]
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
