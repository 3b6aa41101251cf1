package timer

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// TickSource marks the input EventBridge Scheduler sends the ingest Lambda
// for a timer; sensor.Parse recognises it by this source.
const TickSource = "medic.timer"

// scheduledTimePlaceholder is replaced by Scheduler with the firing's
// scheduled time, so a retried invoke carries the same time and id.
const scheduledTimePlaceholder = "<aws.scheduler.scheduled-time>"

// Tick is the JSON a Scheduler schedule passes to the ingest Lambda.
type Tick struct {
	Source        string         `json:"source"`
	Rule          string         `json:"rule"`
	Type          string         `json:"type"`
	Parameters    map[string]any `json:"parameters"`
	ScheduledTime string         `json:"scheduled_time"`
}

// SchedulerInput is the target Input for this timer's Scheduler schedule.
func (t *Timer) SchedulerInput() string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep <aws.scheduler.scheduled-time> literal for Scheduler
	_ = enc.Encode(Tick{Source: TickSource, Rule: t.Rule, Type: t.Type, Parameters: t.Params, ScheduledTime: scheduledTimePlaceholder})
	return strings.TrimSpace(b.String())
}

// ParseTick turns a Scheduler tick back into the timer's trigger, checking
// the definition it carries exactly as a rule's would be checked.
func ParseTick(body []byte) (trigger.Trigger, error) {
	var tick Tick
	if err := json.Unmarshal(body, &tick); err != nil {
		return trigger.Trigger{}, &Error{Reason: "tick is not a timer tick object: " + err.Error()}
	}
	if tick.Source != TickSource {
		return trigger.Trigger{}, &Error{Field: "source", Reason: "is " + tick.Source + ", want " + TickSource}
	}
	if tick.Rule == "" {
		return trigger.Trigger{}, &Error{Field: "rule", Reason: "is missing: a tick names the rule its timer belongs to"}
	}
	t, err := FromRule(tick.Rule, tick.Type, tick.Parameters)
	if err != nil {
		return trigger.Trigger{}, err
	}
	at, perr := time.Parse(time.RFC3339Nano, tick.ScheduledTime)
	if perr != nil {
		return trigger.Trigger{}, &Error{Rule: tick.Rule, Field: "scheduled_time", Reason: "is " + tick.ScheduledTime + ", not an RFC 3339 time"}
	}
	tr := t.Trigger(at)
	tr.Source = "scheduler"
	return tr, nil
}
