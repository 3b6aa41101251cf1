// Package timer implements StackStorm's timer triggers, core.st2.IntervalTimer
// and core.st2.CronTimer: their parameters as st2 documents them, their
// schedules, an in-process scheduler with a pluggable clock for `medic serve`,
// and the EventBridge Scheduler expressions that run them on AWS.
package timer

import (
	"fmt"
	"maps"
	"strings"
	"time"
	_ "time/tzdata" // timezones must resolve on Lambda's minimal image too

	"github.com/medic-sre/medic/internal/trigger"
)

// Error is why a timer definition was refused.
type Error struct {
	Rule   string // rule ref, e.g. "linux.nightly_cleanup"
	Field  string // e.g. "trigger.parameters.unit"
	Reason string
}

func (e *Error) Error() string {
	s := "timer"
	if e.Rule != "" {
		s += " in rule " + e.Rule
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Reason
}

// IsTimerType reports whether a rule's trigger type is a timer.
func IsTimerType(triggerType string) bool {
	return triggerType == trigger.TypeIntervalTimer || triggerType == trigger.TypeCronTimer
}

// Timer is one validated timer definition, taken from a rule.
type Timer struct {
	Rule     string         // the rule it belongs to
	Type     string         // trigger.TypeIntervalTimer or trigger.TypeCronTimer
	Params   map[string]any // trigger.parameters as written
	Location *time.Location // timezone parameter, UTC by default

	every time.Duration // IntervalTimer
	cron  *cronSpec     // CronTimer
}

// FromRule validates a rule's timer trigger: ruleRef names the rule in
// errors, triggerType is its trigger.type and params its trigger.parameters.
func FromRule(ruleRef, triggerType string, params map[string]any) (*Timer, error) {
	fail := func(field, format string, args ...any) error {
		f := "trigger.parameters"
		if field != "" {
			f += "." + field
		}
		if field == "type" {
			f = "trigger.type"
		}
		return &Error{Rule: ruleRef, Field: f, Reason: fmt.Sprintf(format, args...)}
	}
	t := &Timer{Rule: ruleRef, Type: triggerType, Params: maps.Clone(params), Location: time.UTC}
	if t.Params == nil {
		t.Params = map[string]any{}
	}
	var allowed []string
	switch triggerType {
	case trigger.TypeIntervalTimer:
		allowed = []string{"timezone", "unit", "delta"}
	case trigger.TypeCronTimer:
		allowed = append([]string{"timezone"}, cronFieldNames...)
	default:
		return nil, fail("type", "is %q, not a timer (want %s or %s)", triggerType, trigger.TypeIntervalTimer, trigger.TypeCronTimer)
	}
	if err := onlyKnownParams(params, allowed); err != nil {
		return nil, fail(err.field, "%s", err.reason)
	}
	if tz, ok := params["timezone"]; ok {
		name, isString := tz.(string)
		loc, err := time.LoadLocation(name)
		if !isString || err != nil || name == "" {
			return nil, fail("timezone", "is %v, not an IANA timezone such as UTC or Europe/Paris", tz)
		}
		t.Location = loc
	}
	var err *paramError
	if triggerType == trigger.TypeIntervalTimer {
		t.every, err = parseInterval(params)
	} else {
		t.cron, err = parseCron(params)
	}
	if err != nil {
		return nil, fail(err.field, "%s", err.reason)
	}
	if t.cron != nil {
		if _, ok := t.Next(time.Now()); !ok {
			return nil, fail("", "never fires again (no date matches every field)")
		}
	}
	return t, nil
}

// paramError is a problem with one parameter, before the rule is known.
type paramError struct{ field, reason string }

func paramErr(field, format string, args ...any) *paramError {
	return &paramError{field, fmt.Sprintf(format, args...)}
}

func onlyKnownParams(params map[string]any, allowed []string) *paramError {
	for k := range params {
		if !contains(allowed, k) {
			return paramErr(k, "is not a parameter of this timer (want one of %s)", strings.Join(allowed, ", "))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// intervalUnits are st2's IntervalTimer units Medic runs. st2 also allows
// milliseconds and microseconds, which no remediation needs and AWS cannot
// schedule, so they are refused rather than silently rounded.
var intervalUnits = map[string]time.Duration{
	"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour,
	"minutes": time.Minute, "seconds": time.Second,
}

// maxInterval keeps delta*unit far from time.Duration's 292-year limit.
const maxInterval = 10 * 366 * 24 * time.Hour

func parseInterval(params map[string]any) (time.Duration, *paramError) {
	unit, ok := params["unit"].(string)
	if !ok {
		return 0, paramErr("unit", "is %s, want one of weeks, days, hours, minutes, seconds", describe(params["unit"]))
	}
	size, ok := intervalUnits[unit]
	if !ok {
		return 0, paramErr("unit", "is %q, want one of weeks, days, hours, minutes, seconds", unit)
	}
	delta, ok := wholeNumber(params["delta"])
	if !ok || delta < 1 {
		return 0, paramErr("delta", "is %s, want a whole number of %s, at least 1", describe(params["delta"]), unit)
	}
	if time.Duration(delta) > maxInterval/size {
		return 0, paramErr("delta", "is %d %s, more than the 10 years a timer may wait", delta, unit)
	}
	return time.Duration(delta) * size, nil
}

// wholeNumber accepts the integer forms YAML and JSON decoding produce.
func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), n == int64(int(n))
	case uint64:
		return int(n), n <= 1<<31
	case float64:
		return int(n), n == float64(int(n)) && n > -1<<31 && n < 1<<31
	}
	return 0, false
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "missing"
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// Next returns the first firing strictly after after. An IntervalTimer
// fires every interval from the time it is added, so Next(last) is simply
// last+interval; ok is false when a CronTimer never fires again.
func (t *Timer) Next(after time.Time) (next time.Time, ok bool) {
	if t.cron == nil {
		return after.Add(t.every), true
	}
	return t.cron.next(after.In(t.Location))
}

// Interval is an IntervalTimer's period (0 for a CronTimer).
func (t *Timer) Interval() time.Duration { return t.every }

// Trigger is the trigger instance a firing at `at` produces. Its id is the
// rule and the scheduled time, so the local scheduler and an EventBridge
// Scheduler tick of the same firing agree and redeliveries dedupe.
func (t *Timer) Trigger(at time.Time) trigger.Trigger {
	at = at.UTC()
	return trigger.Trigger{
		ID:     "timer:" + t.Rule + ":" + at.Format(time.RFC3339),
		Type:   t.Type,
		Source: "timer",
		Time:   at,
		Payload: map[string]any{
			"executed_at": at.Format(time.RFC3339),
			"schedule":    jsonParams(t.Params),
			"rule":        t.Rule,
		},
	}
}

// jsonParams copies params with numbers as float64, as a JSON round trip
// would give, which is what payloads promise.
func jsonParams(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if n, ok := wholeNumber(v); ok {
			v = float64(n)
		}
		out[k] = v
	}
	return out
}
