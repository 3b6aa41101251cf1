package coverage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/sensor"
)

// The fixed parts of synthesised events: the account, Region and senders of
// the samples in events/, and one instant so every run gives the same ids.
const (
	account         = "123456789012"
	region          = "us-east-1"
	alertmanagerURL = "http://alertmanager.example.com:9093"
	prometheusURL   = "http://prometheus.example.com:9090"
	alarmPeriod     = 300
)

var eventTime = time.Date(2026, 11, 25, 9, 14, 40, 0, time.UTC)

// Event is the body the entry's sender would post to Medic when the alert
// fires, and the sensor hint of its family: an EventBridge "CloudWatch Alarm
// State Change" into ALARM (events/cloudwatch/eventbridge-alarm-state-change.json)
// or an Alertmanager webhook v4 group of one firing alert
// (events/alertmanager/webhook-firing.json).
func Event(e *Entry) (body []byte, hint string, err error) {
	var v any
	switch {
	case (e.CloudWatch == nil) == (e.Alertmanager == nil):
		return nil, "", fmt.Errorf("catalog entry %s: give exactly one of cloudwatch and alertmanager", e.ID)
	case e.CloudWatch != nil && e.CloudWatch.Threshold == nil:
		return nil, "", fmt.Errorf("catalog entry %s: cloudwatch.threshold is required", e.ID)
	}
	if e.CloudWatch != nil {
		v, hint = alarmStateChange(e), sensor.HintCloudWatch
	} else {
		v, hint = alertmanagerGroup(e), sensor.HintAlertmanager
	}
	body, err = json.Marshal(v)
	return body, hint, err
}

// AlarmName is the name of the alarm synthesised for a CloudWatch entry.
func AlarmName(e *Entry) string { return "medic-coverage-" + e.ID }

func alarmStateChange(e *Entry) map[string]any {
	c := e.CloudWatch
	name := AlarmName(e)
	breach := breachingValue(c.Comparison, *c.Threshold)
	dims := map[string]any{}
	for k, v := range c.Dimensions {
		dims[k] = v
	}
	okValue := okValue(c.Comparison, *c.Threshold)
	return map[string]any{
		"version":     "0",
		"id":          uuidFrom("eventbridge:" + e.ID),
		"detail-type": "CloudWatch Alarm State Change",
		"source":      "aws.cloudwatch",
		"account":     account,
		"time":        eventTime.Format(time.RFC3339),
		"region":      region,
		"resources":   []any{"arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name},
		"detail": map[string]any{
			"alarmName": name,
			"configuration": map[string]any{
				"description": e.Title,
				"metrics": []any{map[string]any{
					"id": "m1",
					"metricStat": map[string]any{
						"metric": map[string]any{"dimensions": dims, "name": c.Metric, "namespace": c.Namespace},
						"period": alarmPeriod,
						"stat":   c.Statistic,
					},
					"returnData": true,
				}},
			},
			"previousState": alarmState("OK", c, okValue, eventTime.Add(-alarmPeriod*time.Second)),
			"state":         alarmState("ALARM", c, breach, eventTime),
		},
	}
}

// alarmState is a state as CloudWatch writes it: the reason sentence (which
// the sensor reads the comparison from) and reasonData as a JSON string.
func alarmState(value string, c *CloudWatch, datapoint float64, at time.Time) map[string]any {
	not, transition := "", "OK -> ALARM"
	if value == "OK" {
		not, transition = "not ", "ALARM -> OK"
	}
	reason := fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints [%s (%s)] was %s%s the threshold (%s) (minimum 1 datapoint for %s transition).",
		cwNumber(datapoint), at.Add(-alarmPeriod*time.Second).Format("02/01/06 15:04:05"), not, comparisonPhrase[c.Comparison], cwNumber(*c.Threshold), transition)
	data, _ := json.Marshal(map[string]any{
		"version": "1.0", "queryDate": at.Format("2006-01-02T15:04:05.000+0000"),
		"startDate": at.Add(-alarmPeriod * time.Second).Format("2006-01-02T15:04:05.000+0000"),
		"statistic": c.Statistic, "period": alarmPeriod, "recentDatapoints": []float64{datapoint}, "threshold": *c.Threshold,
	})
	return map[string]any{"reason": reason, "reasonData": string(data), "timestamp": at.Format("2006-01-02T15:04:05.000+0000"), "value": value}
}

// comparisonPhrase is how CloudWatch's reason text says each comparison.
var comparisonPhrase = map[string]string{
	"GreaterThanThreshold":          "greater than",
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// breachingValue is a datapoint on the alarming side of the threshold.
func breachingValue(comparison string, threshold float64) float64 {
	switch comparison {
	case "GreaterThanOrEqualToThreshold", "LessThanOrEqualToThreshold":
		return threshold
	case "GreaterThanThreshold":
		return threshold + step(threshold)
	}
	return threshold - step(threshold)
}

// okValue is a datapoint on the healthy side.
func okValue(comparison string, threshold float64) float64 {
	if strings.HasPrefix(comparison, "Greater") {
		return threshold - step(threshold)
	}
	return threshold + step(threshold)
}

// step is 1 for whole thresholds (counts, percentages) and a tenth of the
// threshold for fractions (error rates such as 0.05).
func step(threshold float64) float64 {
	if threshold == math.Trunc(threshold) || math.Abs(threshold) >= 10 {
		return 1
	}
	return math.Abs(threshold) / 10
}

// cwNumber writes a number as CloudWatch's reason text does: "80.0", "0.05".
func cwNumber(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func alertmanagerGroup(e *Entry) map[string]any {
	a := e.Alertmanager
	labels := map[string]string{"alertname": a.AlertName}
	for k, v := range a.Labels {
		labels[k] = v
	}
	annotations := map[string]string{"summary": e.Title}
	return map[string]any{
		"version":           "4",
		"groupKey":          "{}:{alertname=" + strconv.Quote(a.AlertName) + "}",
		"truncatedAlerts":   0,
		"status":            "firing",
		"receiver":          "medic",
		"groupLabels":       map[string]string{"alertname": a.AlertName},
		"commonLabels":      labels,
		"commonAnnotations": annotations,
		"externalURL":       alertmanagerURL,
		"alerts": []any{map[string]any{
			"status":       "firing",
			"labels":       labels,
			"annotations":  annotations,
			"startsAt":     eventTime.Format(time.RFC3339Nano),
			"endsAt":       "0001-01-01T00:00:00Z",
			"generatorURL": prometheusURL + "/graph?g0.expr=" + url.QueryEscape(a.Expr) + "&g0.tab=1",
			"fingerprint":  fingerprint(labels),
		}},
	}
}

// fingerprint is a stable 16-hex-digit hash of the labels, the form
// Alertmanager's fingerprints take.
func fingerprint(labels map[string]string) string {
	h := sha256.New()
	for _, k := range sortedKeys(labels) {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// uuidFrom is a UUID-shaped id derived from s, so a run is reproducible.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
