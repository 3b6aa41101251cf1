// Package trigger defines the normalised event that every sensor produces and
// every rule matches: StackStorm's "trigger instance", a typed payload.
package trigger

import "time"

// Trigger type names. Rules name one of these in `trigger.type`.
const (
	TypeCloudWatchAlarm = "aws.cloudwatch.alarm"
	TypeAlertmanager    = "prometheus.alert"
	TypeWebhook         = "core.st2.webhook"
	TypeIntervalTimer   = "core.st2.IntervalTimer"
	TypeCronTimer       = "core.st2.CronTimer"
)

// Trigger is one normalised event. Payload holds the type's fields as plain
// JSON values (map[string]any, []any, string, float64, bool, nil) so rules,
// templates and workflows see exactly what a JSON round trip would give.
type Trigger struct {
	// ID identifies this delivery; redeliveries of the same source event
	// carry the same ID.
	ID string `json:"id"`
	// Type is one of the Type* constants.
	Type string `json:"type"`
	// Source names the sensor shape it came from, e.g. "eventbridge", "sns".
	Source string `json:"source"`
	// Time is when the source says the event happened.
	Time time.Time `json:"time"`
	// Payload is the type's schema'd fields.
	Payload map[string]any `json:"payload"`
}
