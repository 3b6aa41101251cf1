package timer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is an EventBridge Scheduler schedule: ScheduleExpression and
// ScheduleExpressionTimezone.
type Schedule struct {
	Expression string `json:"expression"`
	Timezone   string `json:"timezone"`
}

// AWSSchedule maps the timer to EventBridge Scheduler. Intervals become
// rate(N unit); cron fields become cron(minutes hours day-of-month month
// day-of-week year). Whatever Scheduler cannot express (seconds, ISO weeks,
// both day and day_of_week restricted) is an error naming the field, never
// an approximation.
func (t *Timer) AWSSchedule() (Schedule, error) {
	var expr string
	var err *paramError
	if t.cron == nil {
		expr, err = rateExpression(t.every)
	} else {
		expr, err = t.cron.awsExpression()
	}
	if err != nil {
		f := "trigger.parameters"
		if err.field != "" {
			f += "." + err.field
		}
		return Schedule{}, &Error{Rule: t.Rule, Field: f, Reason: "cannot run on EventBridge Scheduler: " + err.reason}
	}
	return Schedule{Expression: expr, Timezone: t.Location.String()}, nil
}

func rateExpression(every time.Duration) (string, *paramError) {
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if every%u.size == 0 {
			n := int(every / u.size)
			if n == 1 {
				return "rate(1 " + u.name + ")", nil
			}
			return fmt.Sprintf("rate(%d %ss)", n, u.name), nil
		}
	}
	return "", paramErr("delta", "%v is not a whole number of minutes, Scheduler's finest rate", every)
}

// awsWeekdays are AWS cron's day-of-week names, indexed Monday first like
// APScheduler, so no number has to be translated (AWS counts 1 = Sunday).
var awsWeekdays = []string{"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}

func (c *cronSpec) awsExpression() (string, *paramError) {
	if s := c.fields[fSecond].items; len(s) != 1 || s[0].star || s[0].first != 0 || s[0].last != 0 {
		return "", paramErr("second", "Scheduler fires on whole minutes; second must be 0 (or left out)")
	}
	if !c.fields[fWeek].isStar() {
		return "", paramErr("week", "AWS cron has no ISO week field")
	}
	dom, dow, err := c.awsDays()
	if err != nil {
		return "", err
	}
	parts := []string{
		c.fields[fMinute].aws(fMinute), c.fields[fHour].aws(fHour), dom,
		c.fields[fMonth].aws(fMonth), dow, c.fields[fYear].aws(fYear),
	}
	return "cron(" + strings.Join(parts, " ") + ")", nil
}

// awsDays fills day-of-month and day-of-week; AWS wants exactly one of
// them to be "?". Positional days ("2nd mon", "last fri") live in AWS's
// day-of-week field as 2#2 and 6L.
func (c *cronSpec) awsDays() (dom, dow string, err *paramError) {
	day, weekday := c.fields[fDay], c.fields[fDayOfWeek]
	positional := day.positional()
	switch {
	case positional != nil && len(day.items) > 1:
		return "", "", paramErr("day", "AWS cron takes a positional day (1st mon, last fri) only on its own")
	case positional != nil && !weekday.isStar():
		return "", "", paramErr("day_of_week", "AWS cron cannot combine a positional day with day_of_week")
	case positional != nil:
		return "?", positional.awsPosition(), nil
	case weekday.isStar():
		return day.aws(fDay), "?", nil
	case day.isStar():
		return "?", weekday.aws(fDayOfWeek), nil
	}
	return "", "", paramErr("day", "AWS cron cannot restrict both day and day_of_week; leave one out")
}

func (f cronField) isStar() bool {
	return len(f.items) == 1 && f.items[0].star && f.items[0].step == 1
}

func (f cronField) positional() *cronItem {
	for i := range f.items {
		if f.items[i].nth != 0 {
			return &f.items[i]
		}
	}
	return nil
}

// awsPosition renders "2nd mon" as 2#2 and "last fri" as 6L (AWS numbers
// weekdays 1 = Sunday here, since # and L take numbers only).
func (it cronItem) awsPosition() string {
	sundayFirst := (it.weekday+1)%7 + 1
	if it.nth < 0 {
		return strconv.Itoa(sundayFirst) + "L"
	}
	return fmt.Sprintf("%d#%d", sundayFirst, it.nth)
}

func (f cronField) aws(field int) string {
	parts := make([]string, 0, len(f.items))
	for _, it := range f.items {
		parts = append(parts, it.aws(field))
	}
	return strings.Join(parts, ",")
}

// aws renders one item. "a/n" is AWS's "from a every n up to the maximum",
// so only a stepped range that stops short of the maximum is spelled out
// value by value.
func (it cronItem) aws(field int) string {
	name := func(v int) string {
		if field == fDayOfWeek {
			return awsWeekdays[v]
		}
		return strconv.Itoa(v)
	}
	hi := cronBounds[field][1]
	switch {
	case it.lastDay:
		return "L"
	case it.star && it.step == 1:
		return "*"
	case it.step > 1 && it.last == hi && field != fDayOfWeek:
		return name(it.first) + "/" + strconv.Itoa(it.step)
	case it.step > 1:
		var vs []string
		for v := it.first; v <= it.last; v += it.step {
			vs = append(vs, name(v))
		}
		return strings.Join(vs, ",")
	case it.first == it.last:
		return name(it.first)
	}
	return name(it.first) + "-" + name(it.last)
}
