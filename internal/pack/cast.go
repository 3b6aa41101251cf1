package pack

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// castParam converts v to the declared st2 type. Templates render text, so
// strings are parsed ("5" → 5, "true" → true, "[1,2]" → list); numbers that
// are whole become integers; anything that does not fit is an error naming
// the value and the type.
func castParam(typ string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "", "null":
		return v, nil
	case "string":
		return castString(v)
	case "integer":
		return castInteger(v)
	case "number":
		return castNumber(v)
	case "boolean":
		return castBoolean(v)
	case "array":
		return castJSON(v, "array", func(x any) bool { _, ok := x.([]any); return ok })
	case "object":
		return castJSON(v, "object", func(x any) bool { _, ok := x.(map[string]any); return ok })
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func castString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, float64:
		return fmt.Sprint(x), nil
	}
	return nil, fmt.Errorf("want a string, got %s", showValue(v))
}

func castInteger(v any) (any, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), nil
		}
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), nil
		}
	}
	return nil, fmt.Errorf("want an integer, got %s", showValue(v))
}

func castNumber(v any) (any, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("want a number, got %s", showValue(v))
}

func castBoolean(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0", "":
			return false, nil
		}
	case int:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	}
	return nil, fmt.Errorf("want a boolean, got %s", showValue(v))
}

// castJSON accepts the value itself or its JSON text, as st2 does for
// templated arrays and objects.
func castJSON(v any, want string, ok func(any) bool) (any, error) {
	if ok(v) {
		return v, nil
	}
	if s, isStr := v.(string); isStr {
		var parsed any
		if err := json.Unmarshal([]byte(s), &parsed); err == nil && ok(parsed) {
			return parsed, nil
		}
	}
	return nil, fmt.Errorf("want an %s, got %s", want, showValue(v))
}

func inEnum(v any, enum []any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(v) {
			if _, vs := v.(string); vs == isString(e) {
				return true
			}
		}
	}
	return false
}

func isString(v any) bool { _, ok := v.(string); return ok }

func showValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
