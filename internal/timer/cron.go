package timer

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// core.st2.CronTimer takes APScheduler's cron fields, and so do we, with
// APScheduler's meaning: each field is a comma list of "*", "*/n", "a",
// "a-b", "a-b/n", "a/n"; month and day_of_week also take names (jan, mon);
// day also takes "last", "1st mon" ... "5th mon" and "last fri"; day_of_week
// counts 0 = Monday. Fields more significant than the least significant one
// given default to "*", less significant ones to their minimum, so
// {hour: 3} fires daily at 03:00:00; week and day_of_week default to "*".

var cronFieldNames = []string{"year", "month", "day", "week", "day_of_week", "hour", "minute", "second"}

const (
	fYear = iota
	fMonth
	fDay
	fWeek
	fDayOfWeek
	fHour
	fMinute
	fSecond
)

// cronBounds are each field's value range. Years stop at 2199, as AWS
// cron's do, which also bounds the search for a next firing.
var cronBounds = [8][2]int{{1970, 2199}, {1, 12}, {1, 31}, {1, 53}, {0, 6}, {0, 23}, {0, 59}, {0, 59}}

// cronDefaults are APScheduler's defaults for fields less significant than
// the last one given.
var cronDefaults = [8]string{"*", "1", "1", "*", "*", "0", "0", "0"}

var (
	monthNames   = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	weekdayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	rangeExpr    = regexp.MustCompile(`^(\d+)(?:-(\d+))?(?:/(\d+))?$`)
	nameRange    = regexp.MustCompile(`^([a-z]+)(?:-([a-z]+))?$`)
	positionExpr = regexp.MustCompile(`^(1st|2nd|3rd|4th|5th|last) +([a-z]+)$`)
)

type cronSpec struct {
	fields [8]cronField
}

type cronField struct {
	items []cronItem
}

// cronItem is one comma-separated part of a field.
type cronItem struct {
	first, last, step int
	star              bool // written as * or */n
	lastDay           bool // day: "last"
	nth               int  // day: 1..5 for "1st".."5th", -1 for "last" weekday
	weekday           int  // day with nth: 0 = Monday
}

func parseCron(params map[string]any) (*cronSpec, *paramError) {
	lastGiven := -1
	for i, name := range cronFieldNames {
		if _, ok := params[name]; ok {
			lastGiven = i
		}
	}
	if lastGiven < 0 {
		return nil, paramErr("", "give at least one of %s", strings.Join(cronFieldNames, ", "))
	}
	spec := &cronSpec{}
	for i, name := range cronFieldNames {
		expr := "*"
		if v, ok := params[name]; ok {
			s, err := cronText(name, v)
			if err != nil {
				return nil, err
			}
			expr = s
		} else if i > lastGiven {
			expr = cronDefaults[i]
		}
		items, err := parseCronField(i, expr)
		if err != nil {
			return nil, err
		}
		spec.fields[i] = cronField{items: items}
	}
	return spec, nil
}

// cronText accepts a field written as a YAML/JSON number or string.
func cronText(name string, v any) (string, *paramError) {
	if n, ok := wholeNumber(v); ok {
		return strconv.Itoa(n), nil
	}
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", paramErr(name, "is %s, want a number or a cron expression such as \"*/5\"", describe(v))
	}
	return strings.ToLower(strings.TrimSpace(s)), nil
}

func parseCronField(field int, expr string) ([]cronItem, *paramError) {
	var items []cronItem
	for _, part := range strings.Split(expr, ",") {
		item, err := parseCronItem(field, strings.TrimSpace(part))
		if err != nil {
			return nil, paramErr(cronFieldNames[field], "%q: %s", expr, err.reason)
		}
		items = append(items, item)
	}
	return items, nil
}

func parseCronItem(field int, part string) (cronItem, *paramError) {
	lo, hi := cronBounds[field][0], cronBounds[field][1]
	if part == "*" {
		return cronItem{first: lo, last: hi, step: 1, star: true}, nil
	}
	if rest, ok := strings.CutPrefix(part, "*/"); ok {
		step, err := strconv.Atoi(rest)
		if err != nil || step < 1 {
			return cronItem{}, paramErr("", "step %q is not a positive whole number", rest)
		}
		return cronItem{first: lo, last: hi, step: step, star: true}, nil
	}
	if field == fDay {
		if item, ok, err := parseDayPosition(part); ok || err != nil {
			return item, err
		}
	}
	if m := rangeExpr.FindStringSubmatch(part); m != nil {
		return numericRange(field, m)
	}
	if m := nameRange.FindStringSubmatch(part); m != nil && (field == fMonth || field == fDayOfWeek) {
		return namedRange(field, m)
	}
	return cronItem{}, paramErr("", "%q is not *, */n, a, a-b, a-b/n or a/n%s", part, namesHint(field))
}

func namesHint(field int) string {
	switch field {
	case fMonth:
		return " (or jan..dec)"
	case fDayOfWeek:
		return " (or mon..sun, 0 = mon)"
	case fDay:
		return " (or last, 1st mon .. 5th mon, last fri)"
	}
	return ""
}

func numericRange(field int, m []string) (cronItem, *paramError) {
	lo, hi := cronBounds[field][0], cronBounds[field][1]
	first, _ := strconv.Atoi(m[1])
	last, step := first, 1
	if m[3] != "" {
		step, _ = strconv.Atoi(m[3])
		last = hi // "a/n" runs from a to the field's maximum
	}
	if m[2] != "" {
		last, _ = strconv.Atoi(m[2])
	}
	switch {
	case step < 1:
		return cronItem{}, paramErr("", "step must be at least 1")
	case first < lo || last > hi:
		return cronItem{}, paramErr("", "values must be within %d-%d", lo, hi)
	case first > last:
		return cronItem{}, paramErr("", "range %d-%d runs backwards", first, last)
	}
	return cronItem{first: first, last: last, step: step}, nil
}

func namedRange(field int, m []string) (cronItem, *paramError) {
	names, base := monthNames, 1
	if field == fDayOfWeek {
		names, base = weekdayNames, 0
	}
	first := indexOf(names, m[1])
	last := first
	if m[2] != "" {
		last = indexOf(names, m[2])
	}
	switch {
	case first < 0 || last < 0:
		return cronItem{}, paramErr("", "unknown name; use %s..%s", names[0], names[len(names)-1])
	case first > last:
		return cronItem{}, paramErr("", "range %s-%s runs backwards", m[1], m[2])
	}
	return cronItem{first: first + base, last: last + base, step: 1}, nil
}

// parseDayPosition reads the day field's "last", "2nd tue" and "last fri".
func parseDayPosition(part string) (cronItem, bool, *paramError) {
	if part == "last" {
		return cronItem{lastDay: true}, true, nil
	}
	m := positionExpr.FindStringSubmatch(part)
	if m == nil {
		return cronItem{}, false, nil
	}
	wd := indexOf(weekdayNames, m[2])
	if wd < 0 {
		return cronItem{}, true, paramErr("", "unknown weekday %q; use mon..sun", m[2])
	}
	nth := -1
	if m[1] != "last" {
		nth = int(m[1][0] - '0')
	}
	return cronItem{nth: nth, weekday: wd}, true, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// matches reports whether value v of a field is selected on date d (the
// day field's positional items depend on the month).
func (f cronField) matches(v int, d time.Time) bool {
	for _, it := range f.items {
		if it.match(v, d) {
			return true
		}
	}
	return false
}

func (it cronItem) match(v int, d time.Time) bool {
	switch {
	case it.lastDay:
		return v == daysIn(d.Year(), d.Month())
	case it.nth != 0:
		if mondayFirst(d.Weekday()) != it.weekday {
			return false
		}
		if it.nth < 0 {
			return v+7 > daysIn(d.Year(), d.Month())
		}
		return (v-1)/7+1 == it.nth
	}
	return v >= it.first && v <= it.last && (v-it.first)%it.step == 0
}

// mondayFirst numbers weekdays as APScheduler does: 0 = Monday.
func mondayFirst(wd time.Weekday) int { return (int(wd) + 6) % 7 }

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// next finds the first matching wall-clock time strictly after `after`, in
// after's location. It walks years, months and days, skipping a whole unit
// as soon as it cannot match, then picks the earliest time of day; wall
// times a DST jump skips do not exist and are passed over.
func (c *cronSpec) next(after time.Time) (time.Time, bool) {
	loc := after.Location()
	start := after.Truncate(time.Second).Add(time.Second)
	sy, sm, sd := start.Date()
	for year := sy; year <= cronBounds[fYear][1]; year++ {
		if !c.fields[fYear].matches(year, time.Time{}) {
			continue
		}
		for month := time.January; month <= time.December; month++ {
			if (year == sy && month < sm) || !c.fields[fMonth].matches(int(month), time.Time{}) {
				continue
			}
			for day := 1; day <= daysIn(year, month); day++ {
				if year == sy && month == sm && day < sd {
					continue
				}
				noon := time.Date(year, month, day, 12, 0, 0, 0, loc)
				if !c.dayMatches(noon) {
					continue
				}
				from := time.Time{}
				if year == sy && month == sm && day == sd {
					from = start
				}
				if t, ok := c.timeOfDay(year, month, day, from, loc); ok && t.After(after) {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

func (c *cronSpec) dayMatches(d time.Time) bool {
	_, week := d.ISOWeek()
	return c.fields[fDay].matches(d.Day(), d) &&
		c.fields[fWeek].matches(week, d) &&
		c.fields[fDayOfWeek].matches(mondayFirst(d.Weekday()), d)
}

// timeOfDay is the earliest matching hh:mm:ss on the date, at or after from
// when from is on that date.
func (c *cronSpec) timeOfDay(year int, month time.Month, day int, from time.Time, loc *time.Location) (time.Time, bool) {
	h0, m0, s0 := 0, 0, 0
	if !from.IsZero() {
		h0, m0, s0 = from.Clock()
	}
	for h := h0; h < 24; h++ {
		if !c.fields[fHour].matches(h, time.Time{}) {
			continue
		}
		for m := lowerBound(h == h0, m0); m < 60; m++ {
			if !c.fields[fMinute].matches(m, time.Time{}) {
				continue
			}
			for s := lowerBound(h == h0 && m == m0, s0); s < 60; s++ {
				if !c.fields[fSecond].matches(s, time.Time{}) {
					continue
				}
				t := time.Date(year, month, day, h, m, s, 0, loc)
				if th, tm, _ := t.Clock(); th == h && tm == m {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

func lowerBound(sameAsStart bool, v int) int {
	if sameAsStart {
		return v
	}
	return 0
}
