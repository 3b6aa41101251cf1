// Package sensor turns the raw alert bodies Medic receives (CloudWatch alarms
// by way of EventBridge, SNS or an alarm's Lambda action, Prometheus
// Alertmanager webhooks, generic JSON webhooks, EventBridge Scheduler timer
// ticks) into normalised triggers. It is StackStorm's sensor layer: every
// shape of one kind of alert comes out as one trigger type with one payload
// schema, so rules are written once.
package sensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/medic-sre/medic/internal/timer"
	"github.com/medic-sre/medic/internal/trigger"
)

// MaxBodyBytes is the largest body Parse accepts: 1 MiB. SNS caps messages
// at 256 KiB and EventBridge events at 256 KiB, so anything bigger is not an
// alert and is refused before it is decoded.
const MaxBodyBytes = 1 << 20

// Hints name a shape family; Request.Hint restricts detection to it.
const (
	HintCloudWatch   = "cloudwatch"
	HintAlertmanager = "alertmanager"
	HintWebhook      = "webhook"
	HintTimer        = "timer"
)

// Request carries what the transport knows besides the body.
type Request struct {
	// Path is the HTTP path the body was posted to (webhooks use it as
	// their url).
	Path string
	// Headers are the HTTP headers, keys in any case.
	Headers map[string]string
	// Hint is "" to detect the shape from the body, or one of the Hint*
	// constants to accept only that family.
	Hint string
}

// Error is why a body was refused. Field is the JSON path of the offending
// value ("" when the body as a whole is at fault).
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "sensor: " + e.Reason
	}
	return "sensor: " + e.Field + ": " + e.Reason
}

func fieldErr(field, format string, args ...any) *Error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Parse detects the shape of one body and returns its triggers: one for a
// CloudWatch alarm, one per alert for Alertmanager, one per record for an SNS
// batch. Any malformed or unknown input gives an *Error and no triggers.
func Parse(body []byte, in Request) ([]trigger.Trigger, error) {
	if len(body) > MaxBodyBytes {
		return nil, fieldErr("", "body is %d bytes, over the %d byte limit", len(body), MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fieldErr("", "body is empty")
	}
	if !json.Valid(body) {
		return nil, fieldErr("", "body is not valid JSON")
	}
	switch in.Hint {
	case HintWebhook:
		return parseWebhook(body, in)
	case "", HintCloudWatch, HintAlertmanager, HintTimer:
	default:
		return nil, fieldErr("", "unknown hint %q (want cloudwatch, alertmanager, webhook or timer)", in.Hint)
	}
	var probe envelope
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, decodeErr("", err)
	}
	kind, err := probe.kind()
	if err != nil {
		return nil, err
	}
	if in.Hint != "" && kind.family != in.Hint {
		return nil, fieldErr("", "body is %s, not %s", kind.name, in.Hint)
	}
	return kind.parse(body, in)
}

// envelope holds the top-level keys that tell the shapes apart. It is a
// map, not a struct, because encoding/json matches struct fields without
// regard to case and a timer tick's "type" must not pass for SNS's "Type".
type envelope map[string]json.RawMessage

func (e envelope) has(key string) bool { _, ok := e[key]; return ok }

// str is the key's value when it is a JSON string, else "".
func (e envelope) str(key string) string {
	var s string
	_ = json.Unmarshal(e[key], &s)
	return s
}

type shape struct {
	name   string
	family string
	parse  func([]byte, Request) ([]trigger.Trigger, error)
}

// kind picks the parser. The checks go from the most specific key to the
// least so that, say, an SNS HTTP delivery is never read as a webhook.
func (e envelope) kind() (shape, error) {
	switch {
	case e.has("Records"):
		return shape{"an SNS Lambda event", HintCloudWatch, parseSNSRecords}, nil
	case e.has("Type") && e.has("MessageId"):
		return shape{"an SNS HTTP delivery", HintCloudWatch, parseSNSDelivery}, nil
	case e.has("detail-type"):
		return shape{"an EventBridge event", HintCloudWatch, parseEventBridge}, nil
	case e.has("alarmData"):
		return shape{"a CloudWatch alarm action", HintCloudWatch, parseAlarmAction}, nil
	case e.has("AlarmName") && e.has("NewStateValue"):
		return shape{"an SNS raw message delivery", HintCloudWatch, parseSNSRaw}, nil
	case e.str("source") == timer.TickSource:
		return shape{"a timer tick", HintTimer, parseTimerTick}, nil
	case e.has("alerts"):
		return shape{"an Alertmanager webhook", HintAlertmanager, parseAlertmanager}, nil
	case e.has("ruleName") && e.has("evalMatches"):
		return shape{}, fieldErr("", "this is a legacy Grafana alert webhook (ruleName, evalMatches), not an alert "+
			"Medic reads: post it to /v1/webhooks/NAME for a core.st2.webhook trigger, or send Grafana's alerts "+
			"through an Alertmanager")
	}
	return shape{}, fieldErr("", "unknown event shape: expected an EventBridge event (detail-type), "+
		"an SNS event (Records or Type), a CloudWatch alarm action (alarmData), "+
		"an SNS raw message delivery (AlarmName and NewStateValue), "+
		"an Alertmanager webhook (alerts) or a timer tick (source %q); post other JSON to a webhook path", timer.TickSource)
}

// decodeErr names the field a json error is about. prefix is the JSON path
// of the document being decoded when it is nested in another one.
func decodeErr(prefix string, err error) *Error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := join(prefix, typeErr.Field)
		reason := fmt.Sprintf("is a JSON %s, want %s", typeErr.Value, jsonKind(typeErr.Type.Kind().String()))
		if field == "" {
			reason = "body " + reason
		}
		return fieldErr(field, "%s", reason)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fieldErr(prefix, "is not valid JSON (offset %d)", syntaxErr.Offset)
	}
	return fieldErr(prefix, "cannot be decoded: %v", err)
}

// jsonKind names a Go kind the way a JSON author would.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "float64", "float32", "int", "int64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return goKind
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// parseTimerTick reads the input an EventBridge Scheduler schedule sends for
// a rule's timer (see timer.Timer.SchedulerInput).
func parseTimerTick(body []byte, _ Request) ([]trigger.Trigger, error) {
	t, err := timer.ParseTick(body)
	if err != nil {
		var te *timer.Error
		if errors.As(err, &te) && te.Rule != "" {
			return nil, fieldErr(te.Field, "%s (timer of rule %s)", te.Reason, te.Rule)
		}
		if errors.As(err, &te) {
			return nil, fieldErr(te.Field, "%s", te.Reason)
		}
		return nil, fieldErr("", "%v", err)
	}
	return []trigger.Trigger{t}, nil
}
