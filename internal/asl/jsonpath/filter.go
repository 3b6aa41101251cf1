package jsonpath

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// filter is [?(@.a.b OP literal)] or [?(@.a.b)] (the node exists).
type filter struct {
	path *Path // relative to the candidate, written with @ in the source
	op   string
	lit  any
}

var filterOps = []string{"==", "!=", "<=", ">=", "<", ">"}

func parseFilter(expr string) (*filter, error) {
	expr = strings.TrimSpace(expr)
	if !strings.HasPrefix(expr, "@") {
		return nil, fmt.Errorf("filter %q must start with @", expr)
	}
	left, op, right := expr, "", ""
	for _, candidate := range filterOps {
		if i := strings.Index(expr, candidate); i > 0 {
			left, op, right = strings.TrimSpace(expr[:i]), candidate, strings.TrimSpace(expr[i+len(candidate):])
			break
		}
	}
	path, err := Parse("$" + left[1:])
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	if !path.definite {
		return nil, fmt.Errorf("filter %q: only simple @.field paths are supported", expr)
	}
	f := &filter{path: path, op: op}
	if op == "" {
		return f, nil
	}
	if isQuoted(right) {
		s, err := unquote(right)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %v", expr, err)
		}
		f.lit = s
		return f, nil
	}
	if err := json.Unmarshal([]byte(right), &f.lit); err != nil {
		return nil, fmt.Errorf("filter %q: literal %q is not a number, string, boolean or null", expr, right)
	}
	if _, isObj := f.lit.(map[string]any); isObj {
		return nil, fmt.Errorf("filter %q: literal must be a scalar", expr)
	}
	if _, isArr := f.lit.([]any); isArr {
		return nil, fmt.Errorf("filter %q: literal must be a scalar", expr)
	}
	return f, nil
}

func (f *filter) match(node any) bool {
	v, err := f.path.Get(node)
	if err != nil {
		return false
	}
	if f.op == "" {
		return true
	}
	switch f.op {
	case "==":
		return scalarEqual(v, f.lit)
	case "!=":
		return !scalarEqual(v, f.lit)
	}
	c, ok := compare(v, f.lit)
	if !ok {
		return false
	}
	switch f.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default:
		return c >= 0
	}
}

func scalarEqual(a, b any) bool {
	if c, ok := compare(a, b); ok {
		return c == 0
	}
	return a == nil && b == nil || a == b
}

// compare orders two numbers or two strings.
func compare(a, b any) (int, bool) {
	if x, ok := a.(float64); ok {
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	}
	return 0, false
}

func sortStrings(s []string) { sort.Strings(s) }
