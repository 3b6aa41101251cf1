package timer

import (
	"errors"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// FuzzCronField feeds arbitrary text to every cron field: a definition is
// refused with a *timer.Error or accepted, and an accepted one's next
// firing is after its start and matches on a second boundary.
func FuzzCronField(f *testing.F) {
	for _, s := range []string{"*", "*/5", "1-5", "5-20/5", "3/7", "jan-mar", "mon-fri", "last", "last fri", "2nd tue",
		"0,15,30", "", " ", "-1", "99999999999999999999", "a-", "*/", "1-2-3", "mon-1", "5th sun,last"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, expr string, which uint8) {
		name := cronFieldNames[int(which)%len(cronFieldNames)]
		tm, err := FromRule("fuzz.rule", trigger.TypeCronTimer, map[string]any{name: expr})
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Reason == "" {
				t.Fatalf("%s=%q: error %v is not a *timer.Error", name, expr, err)
			}
			return
		}
		next, ok := tm.Next(base)
		if !ok || !next.After(base) || next.Nanosecond() != 0 {
			t.Fatalf("%s=%q: next %v %v", name, expr, next, ok)
		}
		_, _ = tm.AWSSchedule()
	})
}

// FuzzParseTick checks that no tick body panics.
func FuzzParseTick(f *testing.F) {
	tm, _ := FromRule("r", trigger.TypeIntervalTimer, map[string]any{"unit": "minutes", "delta": 5})
	f.Add([]byte(tm.SchedulerInput()))
	f.Add([]byte(`{"source":"medic.timer","rule":"r","type":"core.st2.CronTimer","parameters":{"hour":"*/2"},"scheduled_time":"2026-11-25T10:00:00Z"}`))
	f.Add([]byte(`{"source":"medic.timer","rule":"r","type":"core.st2.CronTimer","parameters":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := ParseTick(body)
		if err == nil && (tr.ID == "" || tr.Time.Before(time.Time{}.Add(time.Second))) {
			t.Fatalf("accepted tick gave %+v", tr)
		}
	})
}

// FuzzIntervalTimer checks interval definitions: refused with a
// *timer.Error, or accepted with a positive period that AWSSchedule either
// expresses as rate() or refuses with a *timer.Error.
func FuzzIntervalTimer(f *testing.F) {
	f.Add("minutes", 5.0)
	f.Add("seconds", 90.0)
	f.Add("weeks", 1e9)
	f.Add("days", -1.0)
	f.Add("hours", 0.5)
	f.Fuzz(func(t *testing.T, unit string, delta float64) {
		tm, err := FromRule("fuzz.rule", trigger.TypeIntervalTimer, map[string]any{"unit": unit, "delta": delta})
		var te *Error
		if err != nil {
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *timer.Error", err)
			}
			return
		}
		if tm.Interval() <= 0 {
			t.Fatalf("unit %q delta %v: interval %v", unit, delta, tm.Interval())
		}
		if s, err := tm.AWSSchedule(); err != nil && !errors.As(err, &te) || err == nil && s.Expression == "" {
			t.Fatalf("AWSSchedule: %+v, %v", s, err)
		}
	})
}
