package timer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

func mustTimer(t *testing.T, typ string, params map[string]any) *Timer {
	t.Helper()
	tm, err := FromRule("test.rule", typ, params)
	if err != nil {
		t.Fatalf("FromRule(%v): %v", params, err)
	}
	return tm
}

func cron(t *testing.T, params map[string]any) *Timer {
	return mustTimer(t, trigger.TypeCronTimer, params)
}

var base = time.Date(2026, 11, 25, 10, 17, 30, 0, time.UTC) // a Wednesday

func TestCronNext(t *testing.T) {
	cases := []struct {
		params map[string]any
		want   []string // successive firings after base
	}{
		{map[string]any{"hour": 3}, []string{"2026-11-26T03:00:00Z", "2026-11-27T03:00:00Z"}},
		{map[string]any{"minute": "*/15"}, []string{"2026-11-25T10:30:00Z", "2026-11-25T10:45:00Z", "2026-11-25T11:00:00Z"}},
		{map[string]any{"second": "*/20"}, []string{"2026-11-25T10:17:40Z", "2026-11-25T10:18:00Z"}},
		{map[string]any{"day_of_week": "mon-fri", "hour": 9, "minute": 30}, []string{"2026-11-26T09:30:00Z", "2026-11-27T09:30:00Z", "2026-11-30T09:30:00Z"}},
		{map[string]any{"day_of_week": 0, "hour": 6}, []string{"2026-11-30T06:00:00Z", "2026-12-07T06:00:00Z"}},
		{map[string]any{"day": "last", "hour": 23, "minute": 55}, []string{"2026-11-30T23:55:00Z", "2026-12-31T23:55:00Z", "2027-01-31T23:55:00Z"}},
		{map[string]any{"day": "last fri", "hour": 18}, []string{"2026-11-27T18:00:00Z", "2026-12-25T18:00:00Z"}},
		{map[string]any{"day": "1st mon", "hour": 0}, []string{"2026-12-07T00:00:00Z", "2027-01-04T00:00:00Z"}},
		{map[string]any{"month": "feb", "day": 29}, []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{map[string]any{"month": "jan,jul", "day": 1, "hour": "4-5"}, []string{"2027-01-01T04:00:00Z", "2027-01-01T05:00:00Z", "2027-07-01T04:00:00Z"}},
		{map[string]any{"year": 2027, "week": 2, "day_of_week": "wed", "hour": 12}, []string{"2027-01-13T12:00:00Z"}},
		{map[string]any{"minute": "5-20/5", "hour": 10}, []string{"2026-11-25T10:20:00Z", "2026-11-26T10:05:00Z"}},
	}
	for _, c := range cases {
		tm := cron(t, c.params)
		at := base
		for i, want := range c.want {
			next, ok := tm.Next(at)
			if !ok || next.UTC().Format(time.RFC3339) != want {
				t.Errorf("%v: firing %d = %v (%v), want %s", c.params, i+1, next.UTC().Format(time.RFC3339), ok, want)
				break
			}
			at = next
		}
	}
}

func TestCronTimezoneAndDST(t *testing.T) {
	tm := cron(t, map[string]any{"hour": 2, "minute": 30, "timezone": "Europe/Paris"})
	// 2027-03-28 02:30 does not exist in Paris (clocks jump 02:00 -> 03:00).
	next, ok := tm.Next(time.Date(2027, 3, 27, 12, 0, 0, 0, time.UTC))
	if !ok || next.UTC().Format(time.RFC3339) != "2027-03-29T00:30:00Z" {
		t.Errorf("next over the DST gap = %v, want 2027-03-29T00:30:00Z (02:30 CEST)", next.UTC())
	}
	next, _ = tm.Next(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	if next.UTC().Format(time.RFC3339) != "2026-11-25T01:30:00Z" {
		t.Errorf("next in winter = %v, want 01:30 UTC", next.UTC())
	}
}

func TestInterval(t *testing.T) {
	tm := mustTimer(t, trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5})
	if next, _ := tm.Next(base); !next.Equal(base.Add(5 * time.Minute)) {
		t.Errorf("next = %v", next)
	}
	tm = mustTimer(t, trigger.TypeIntervalTimer, map[string]any{"unit": "weeks", "delta": 2.0})
	if tm.Interval() != 14*24*time.Hour {
		t.Errorf("interval = %v", tm.Interval())
	}
}

func TestInvalidDefinitions(t *testing.T) {
	cases := []struct {
		typ    string
		params map[string]any
		field  string
		reason string
	}{
		{trigger.TypeIntervalTimer, map[string]any{"delta": 5}, "trigger.parameters.unit", "missing"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "fortnights", "delta": 5}, "trigger.parameters.unit", "fortnights"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "milliseconds", "delta": 5}, "trigger.parameters.unit", "milliseconds"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 0}, "trigger.parameters.delta", "at least 1"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": "5"}, "trigger.parameters.delta", "whole number"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 1.5}, "trigger.parameters.delta", "whole number"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "weeks", "delta": 100000}, "trigger.parameters.delta", "10 years"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5, "hour": 3}, "trigger.parameters.hour", "not a parameter"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5, "timezone": "Mars/Olympus"}, "trigger.parameters.timezone", "IANA"},
		{trigger.TypeCronTimer, map[string]any{}, "trigger.parameters", "at least one"},
		{trigger.TypeCronTimer, map[string]any{"hour": 24}, "trigger.parameters.hour", "0-23"},
		{trigger.TypeCronTimer, map[string]any{"minute": "30-10"}, "trigger.parameters.minute", "backwards"},
		{trigger.TypeCronTimer, map[string]any{"minute": "*/0"}, "trigger.parameters.minute", "positive"},
		{trigger.TypeCronTimer, map[string]any{"day_of_week": "funday"}, "trigger.parameters.day_of_week", "unknown name"},
		{trigger.TypeCronTimer, map[string]any{"day": "3rd xyz"}, "trigger.parameters.day", "unknown weekday"},
		{trigger.TypeCronTimer, map[string]any{"hour": true}, "trigger.parameters.hour", "want a number"},
		{trigger.TypeCronTimer, map[string]any{"month": 2, "day": 30}, "trigger.parameters", "never fires"},
		{trigger.TypeCronTimer, map[string]any{"year": 2020}, "trigger.parameters", "never fires"},
		{"core.st2.webhook", map[string]any{}, "trigger.type", "not a timer"},
	}
	for _, c := range cases {
		_, err := FromRule("linux.nightly", c.typ, c.params)
		var te *Error
		if !errors.As(err, &te) {
			t.Errorf("%v: err = %v, want *timer.Error", c.params, err)
			continue
		}
		if te.Rule != "linux.nightly" || te.Field != c.field || !strings.Contains(te.Reason, c.reason) {
			t.Errorf("%v: %q (field %q), want field %q, reason with %q", c.params, err, te.Field, c.field, c.reason)
		}
	}
}

func TestAWSSchedule(t *testing.T) {
	cases := []struct {
		typ    string
		params map[string]any
		want   string
	}{
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5}, "rate(5 minutes)"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 1}, "rate(1 minute)"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "seconds", "delta": 120}, "rate(2 minutes)"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 90}, "rate(90 minutes)"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "hours", "delta": 48}, "rate(2 days)"},
		{trigger.TypeIntervalTimer, map[string]any{"unit": "weeks", "delta": 1}, "rate(7 days)"},
		{trigger.TypeCronTimer, map[string]any{"hour": 3}, "cron(0 3 * * ? *)"},
		{trigger.TypeCronTimer, map[string]any{"minute": "*/15"}, "cron(0/15 * * * ? *)"},
		{trigger.TypeCronTimer, map[string]any{"day_of_week": "mon-fri", "hour": 9, "minute": 30}, "cron(30 9 ? * MON-FRI *)"},
		{trigger.TypeCronTimer, map[string]any{"day_of_week": "0,2,4", "hour": 6}, "cron(0 6 ? * MON,WED,FRI *)"},
		{trigger.TypeCronTimer, map[string]any{"day": "last", "hour": 23, "minute": 55}, "cron(55 23 L * ? *)"},
		{trigger.TypeCronTimer, map[string]any{"day": "last fri", "hour": 18}, "cron(0 18 ? * 6L *)"},
		{trigger.TypeCronTimer, map[string]any{"day": "2nd mon", "hour": 0}, "cron(0 0 ? * 2#2 *)"},
		{trigger.TypeCronTimer, map[string]any{"month": "jan-mar", "day": 1, "minute": "5-20/5"}, "cron(5,10,15,20 * 1 1-3 ? *)"},
		{trigger.TypeCronTimer, map[string]any{"year": "2027-2030", "month": 6}, "cron(0 0 1 6 ? 2027-2030)"},
	}
	for _, c := range cases {
		s, err := mustTimer(t, c.typ, c.params).AWSSchedule()
		if err != nil || s.Expression != c.want || s.Timezone != "UTC" {
			t.Errorf("%v: %+v, %v; want %s in UTC", c.params, s, err, c.want)
		}
	}
	s, _ := cron(t, map[string]any{"hour": 3, "timezone": "America/New_York"}).AWSSchedule()
	if s.Timezone != "America/New_York" {
		t.Errorf("timezone = %q", s.Timezone)
	}
}

func TestAWSScheduleRefusals(t *testing.T) {
	cases := []struct {
		typ    string
		params map[string]any
		field  string
	}{
		{trigger.TypeIntervalTimer, map[string]any{"unit": "seconds", "delta": 30}, "trigger.parameters.delta"},
		{trigger.TypeCronTimer, map[string]any{"second": "*/10"}, "trigger.parameters.second"},
		{trigger.TypeCronTimer, map[string]any{"week": 10}, "trigger.parameters.week"},
		{trigger.TypeCronTimer, map[string]any{"day": 1, "day_of_week": "mon"}, "trigger.parameters.day"},
		{trigger.TypeCronTimer, map[string]any{"day": "1st mon", "day_of_week": "mon"}, "trigger.parameters.day_of_week"},
	}
	for _, c := range cases {
		_, err := mustTimer(t, c.typ, c.params).AWSSchedule()
		var te *Error
		if !errors.As(err, &te) || te.Field != c.field || !strings.Contains(te.Reason, "Scheduler") {
			t.Errorf("%v: %v, want an error on %s", c.params, err, c.field)
		}
	}
}

func TestTriggerAndTickAgree(t *testing.T) {
	tm := mustTimer(t, trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5})
	at := time.Date(2026, 11, 25, 10, 20, 0, 0, time.UTC)
	local := tm.Trigger(at)
	if local.ID != "timer:test.rule:2026-11-25T10:20:00Z" || local.Type != trigger.TypeIntervalTimer {
		t.Errorf("trigger = %+v", local)
	}
	if sch := local.Payload["schedule"].(map[string]any); sch["delta"] != 5.0 || sch["unit"] != "minutes" {
		t.Errorf("schedule = %v, want JSON-typed parameters", sch)
	}
	input := tm.SchedulerInput()
	if !strings.Contains(input, "<aws.scheduler.scheduled-time>") {
		t.Fatalf("input %s lacks the scheduled-time placeholder", input)
	}
	tick := strings.Replace(input, "<aws.scheduler.scheduled-time>", "2026-11-25T10:20:00Z", 1)
	remote, err := ParseTick([]byte(tick))
	if err != nil {
		t.Fatal(err)
	}
	if remote.ID != local.ID || remote.Payload["executed_at"] != local.Payload["executed_at"] || remote.Source != "scheduler" {
		t.Errorf("tick trigger %+v differs from local %+v", remote, local)
	}
	for _, bad := range []string{`[]`, `{"source":"x"}`, `{"source":"medic.timer"}`,
		`{"source":"medic.timer","rule":"r","type":"core.st2.IntervalTimer","parameters":{"unit":"minutes","delta":1},"scheduled_time":"soon"}`} {
		if _, err := ParseTick([]byte(bad)); err == nil {
			t.Errorf("ParseTick(%s) accepted", bad)
		}
	}
}

func BenchmarkCronNext(b *testing.B) {
	tm, err := FromRule("bench", trigger.TypeCronTimer, map[string]any{"day": "last fri", "hour": 18, "timezone": "Europe/Paris"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tm.Next(base); !ok {
			b.Fatal("no next firing")
		}
	}
}
