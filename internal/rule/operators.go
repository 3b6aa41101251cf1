package rule

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/medic-sre/medic/internal/lru"
)

// Canonical operator names, as StackStorm's operators.py has them.
const (
	opEquals        = "equals"
	opNEquals       = "nequals"
	opIEquals       = "iequals"
	opContains      = "contains"
	opNContains     = "ncontains"
	opIContains     = "icontains"
	opINContains    = "incontains"
	opStartsWith    = "startswith"
	opIStartsWith   = "istartswith"
	opEndsWith      = "endswith"
	opIEndsWith     = "iendswith"
	opLessThan      = "lessthan"
	opGreaterThan   = "greaterthan"
	opMatchWildcard = "matchwildcard"
	opRegex         = "regex"
	opIRegex        = "iregex"
	opMatchRegex    = "matchregex"
	opTimediffLT    = "timediff_lt"
	opTimediffGT    = "timediff_gt"
	opExists        = "exists"
	opNExists       = "nexists"
	opInside        = "inside"
	opNInside       = "ninside"
	opSearch        = "search"
)

// op is one operator. test gets the payload value (nil when not found) and
// the rendered pattern. In StackStorm a null pattern makes every operator
// false except nequals, exists and nexists, which is what nullPatternOK
// records.
type op struct {
	name          string
	test          func(value, pattern any, now time.Time) (bool, error)
	nullPatternOK bool
	// checkStatic validates a literal (non-template) pattern at load time.
	checkStatic func(pattern any) error
}

var operators = map[string]op{}

// aliases are StackStorm's short names (plus "ne", which people write).
var aliases = map[string]string{
	"eq": opEquals, "neq": opNEquals, "ne": opNEquals, "ieq": opIEquals, "lt": opLessThan, "gt": opGreaterThan,
	"td_lt": opTimediffLT, "td_gt": opTimediffGT, "in": opInside, "nin": opNInside,
}

func init() {
	add := func(name string, test func(v, p any, now time.Time) (bool, error)) *op {
		o := &op{name: name, test: test, checkStatic: func(any) error { return nil }}
		operators[name] = *o
		return o
	}
	plain := func(f func(v, p any) (bool, error)) func(v, p any, _ time.Time) (bool, error) {
		return func(v, p any, _ time.Time) (bool, error) { return f(v, p) }
	}
	add(opEquals, plain(func(v, p any) (bool, error) { return equal(v, p), nil }))
	add(opNEquals, plain(func(v, p any) (bool, error) { return !equal(v, p), nil }))
	add(opIEquals, plain(strOp(func(v, p string) bool { return strings.EqualFold(v, p) })))
	add(opContains, plain(contains))
	add(opNContains, plain(not(contains)))
	add(opIContains, plain(strOp(func(v, p string) bool { return strings.Contains(strings.ToLower(v), strings.ToLower(p)) })))
	add(opINContains, plain(strOp(func(v, p string) bool { return !strings.Contains(strings.ToLower(v), strings.ToLower(p)) })))
	add(opStartsWith, plain(strOp(strings.HasPrefix)))
	add(opIStartsWith, plain(strOp(func(v, p string) bool { return strings.HasPrefix(strings.ToLower(v), strings.ToLower(p)) })))
	add(opEndsWith, plain(strOp(strings.HasSuffix)))
	add(opIEndsWith, plain(strOp(func(v, p string) bool { return strings.HasSuffix(strings.ToLower(v), strings.ToLower(p)) })))
	add(opLessThan, plain(ordered(func(c int) bool { return c < 0 })))
	add(opGreaterThan, plain(ordered(func(c int) bool { return c > 0 })))
	add(opMatchWildcard, plain(strOpErr(matchWildcard)))
	add(opRegex, plain(regexOp("")))
	add(opIRegex, plain(regexOp("(?i)")))
	add(opMatchRegex, plain(regexOp("(?s)^")))
	add(opTimediffLT, timediff(func(age, limit float64) bool { return age < limit }))
	add(opTimediffGT, timediff(func(age, limit float64) bool { return age > limit }))
	add(opExists, plain(func(v, _ any) (bool, error) { return v != nil, nil }))
	add(opNExists, plain(func(v, _ any) (bool, error) { return v == nil, nil }))
	add(opInside, plain(func(v, p any) (bool, error) { return contains(p, v) }))
	add(opNInside, plain(func(v, p any) (bool, error) { return not(contains)(p, v) }))
	add(opSearch, nil) // evaluated by the engine: it needs nested criteria

	for _, n := range []string{opNEquals, opExists, opNExists} {
		o := operators[n]
		o.nullPatternOK = true
		operators[n] = o
	}
	for _, n := range []string{opRegex, opIRegex, opMatchRegex} {
		o := operators[n]
		prefix := map[string]string{opRegex: "", opIRegex: "(?i)", opMatchRegex: "(?s)^"}[n]
		o.checkStatic = func(p any) error {
			if s, ok := p.(string); ok && !isTemplate(s) {
				return pinRegex(prefix, s)
			}
			return nil
		}
		operators[n] = o
	}
	for _, n := range []string{opTimediffLT, opTimediffGT} {
		o := operators[n]
		o.checkStatic = func(p any) error {
			if s, ok := p.(string); ok && isTemplate(s) {
				return nil
			}
			if _, ok := number(p); !ok && p != nil {
				return fmt.Errorf("must be a number of seconds, got %s", describe(p))
			}
			return nil
		}
		operators[n] = o
	}
}

// lookupOp resolves an operator name case-insensitively, aliases included.
func lookupOp(name string) (op, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	o, ok := operators[n]
	return o, ok
}

// OperatorNames lists the operators and aliases, sorted.
func OperatorNames() []string {
	names := make([]string, 0, len(operators)+len(aliases))
	for n := range operators {
		names = append(names, n)
	}
	for a := range aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	return names
}

func not(f func(v, p any) (bool, error)) func(v, p any) (bool, error) {
	return func(v, p any) (bool, error) {
		ok, err := f(v, p)
		return !ok && err == nil, err
	}
}

// strOp wraps a string-only operator: like Python's str methods, anything
// but two strings is a type error, and the criterion does not match.
func strOp(f func(v, p string) bool) func(v, p any) (bool, error) {
	return strOpErr(func(v, p string) (bool, error) { return f(v, p), nil })
}

func strOpErr(f func(v, p string) (bool, error)) func(v, p any) (bool, error) {
	return func(v, p any) (bool, error) {
		vs, ok := v.(string)
		if !ok {
			return false, fmt.Errorf("value must be a string, got %s", describe(v))
		}
		ps, ok := p.(string)
		if !ok {
			return false, fmt.Errorf("pattern must be a string, got %s", describe(p))
		}
		return f(vs, ps)
	}
}

// number reads any Go numeric type (JSON gives float64, YAML and templates
// give int) as float64. Booleans are not numbers here.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint:
		return float64(n), true
	}
	return 0, false
}

// equal is Python's ==: numbers compare by value whatever their Go type,
// lists and maps deeply, and "5" never equals 5.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// contains is Python's `needle in haystack`: substring for strings,
// membership for lists, key for maps.
func contains(haystack, needle any) (bool, error) {
	switch h := haystack.(type) {
	case string:
		n, ok := needle.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' needs a string, got %s", describe(needle))
		}
		return strings.Contains(h, n), nil
	case []any:
		for _, e := range h {
			if equal(e, needle) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		n, ok := needle.(string)
		if !ok {
			return false, nil
		}
		_, found := h[n]
		return found, nil
	}
	return false, fmt.Errorf("cannot search in %s", describe(haystack))
}

// ordered compares numbers with numbers and strings with strings, as
// Python 3 does; other pairs are a type error.
func ordered(want func(int) bool) func(v, p any) (bool, error) {
	return func(v, p any) (bool, error) {
		if x, ok := number(v); ok {
			y, ok := number(p)
			if !ok {
				return false, fmt.Errorf("cannot compare %s with %s", describe(v), describe(p))
			}
			return want(cmpFloat(x, y)), nil
		}
		if x, ok := v.(string); ok {
			y, ok := p.(string)
			if !ok {
				return false, fmt.Errorf("cannot compare %s with %s", describe(v), describe(p))
			}
			return want(strings.Compare(x, y)), nil
		}
		return false, fmt.Errorf("cannot compare %s with %s", describe(v), describe(p))
	}
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// regexCacheSize bounds the compiled regexes kept: criteria patterns may
// be templates rendered from trigger data, so the distinct patterns are
// attacker-chosen and unbounded (100k of them once held 398 MiB).
const regexCacheSize = 4096

var regexCache = lru.New[string, *regexp.Regexp](regexCacheSize)

// pinnedRegexes are the literal patterns of loaded rules, compiled once at
// load (pinRegex) and never evicted: they are bounded by the rule files,
// not by trigger data, and 10,000 rules with their own regex must not
// thrash the LRU above.
var pinnedRegexes sync.Map // key -> *regexp.Regexp

func pinRegex(prefix, pattern string) error {
	re, err := compileRegex(prefix, pattern)
	if err == nil {
		pinnedRegexes.Store(regexKey(prefix, pattern), re)
	}
	return err
}

func regexKey(prefix, pattern string) string { return prefix + "\x00" + pattern }

func compileRegex(prefix, pattern string) (*regexp.Regexp, error) {
	key := regexKey(prefix, pattern)
	if re, ok := pinnedRegexes.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	if re, ok := regexCache.Get(key); ok {
		return re, nil
	}
	src := prefix + "(?:" + pattern + ")"
	if prefix == "" || prefix == "(?i)" {
		src = prefix + pattern
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %w", pattern, err)
	}
	regexCache.Add(key, re)
	return re, nil
}

// regexOp: regex and iregex search anywhere (Python re.search); matchregex
// anchors at the start and lets . match newlines (re.match with DOTALL).
func regexOp(prefix string) func(v, p any) (bool, error) {
	return strOpErr(func(v, p string) (bool, error) {
		re, err := compileRegex(prefix, p)
		if err != nil {
			return false, err
		}
		return re.MatchString(v), nil
	})
}

// matchWildcard is Python's fnmatch: * and ? match any character including
// "/", [seq] and [!seq] are classes, and the whole value must match.
func matchWildcard(v, p string) (bool, error) {
	if !utf8.ValidString(p) {
		return false, fmt.Errorf("wildcard %q is not valid UTF-8", p)
	}
	re, err := compileRegex("(?s)^", wildcardToRegex(p)+"$")
	if err != nil {
		return false, err
	}
	return re.MatchString(v), nil
}

func wildcardToRegex(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '!' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				b.WriteString(`\[`)
				continue
			}
			class := p[i+1 : j]
			class = strings.ReplaceAll(class, `\`, `\\`)
			class = strings.ReplaceAll(class, `[`, `\[`) // no POSIX [:alpha:] classes in fnmatch
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			} else if strings.HasPrefix(class, "^") {
				class = `\` + class
			}
			b.WriteString("[" + class + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// timediff compares the age of the timestamp value (now - value, seconds)
// with the pattern.
func timediff(want func(age, limit float64) bool) func(v, p any, now time.Time) (bool, error) {
	return func(v, p any, now time.Time) (bool, error) {
		s, ok := v.(string)
		if !ok {
			return false, fmt.Errorf("value must be a timestamp string, got %s", describe(v))
		}
		t, err := parseTime(s)
		if err != nil {
			return false, err
		}
		limit, ok := number(p)
		if !ok {
			return false, fmt.Errorf("pattern must be a number of seconds, got %s", describe(p))
		}
		return want(now.Sub(t).Seconds(), limit), nil
	}
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
}

// parseTime accepts the ISO 8601 shapes alarms and webhooks use; a
// timestamp without a zone is UTC, as StackStorm assumes.
func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q as a timestamp", s)
}

// describe names a value and its JSON type for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if _, ok := number(v); ok {
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("%T %v", v, v)
}
