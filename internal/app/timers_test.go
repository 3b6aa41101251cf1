package app

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/timer"
	"github.com/medic-sre/medic/internal/trigger"
)

func TestTimerRulesFireThroughTheScheduler(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := timer.NewManualClock(start)
	var fired []trigger.Trigger
	rules := []*rule.Rule{
		{Ref: "ops.every_5m", Enabled: true, TriggerType: trigger.TypeIntervalTimer, TriggerParameters: map[string]any{"unit": "minutes", "delta": 5}},
		{Ref: "ops.disabled", Enabled: false, TriggerType: trigger.TypeIntervalTimer, TriggerParameters: map[string]any{"unit": "seconds", "delta": 1}},
		{Ref: "ops.alarm", Enabled: true, TriggerType: trigger.TypeCloudWatchAlarm},
	}
	sched, err := Timers(rules, clock, func(t trigger.Trigger) { fired = append(fired, t) })
	if err != nil {
		t.Fatal(err)
	}
	if n := sched.FireDue(start.Add(11 * time.Minute)); n == 0 || len(fired) == 0 {
		t.Fatalf("nothing fired after 11 minutes")
	}
	for _, f := range fired {
		if f.Type != trigger.TypeIntervalTimer || f.Payload["rule"] != "ops.every_5m" {
			t.Fatalf("unexpected firing %+v", f)
		}
	}
}

func TestBadTimerRuleIsRefused(t *testing.T) {
	rules := []*rule.Rule{{Ref: "ops.bad", Enabled: true, TriggerType: trigger.TypeIntervalTimer, TriggerParameters: map[string]any{"unit": "fortnights", "delta": 1}}}
	if _, err := Timers(rules, timer.RealClock{}, func(trigger.Trigger) {}); err == nil {
		t.Fatal("bad timer accepted")
	}
}
