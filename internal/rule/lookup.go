package rule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/internal/template"
)

func isTemplate(s string) bool { return template.IsTemplate(s) }

// segment is one step of a key path: a map key, or a list index when
// index >= 0.
type segment struct {
	key   string
	index int
}

// parsePath splits "trigger.a.b[0].c" (or "trigger.a.b.0.c") into segments
// after the root name ("trigger" or "item").
func parsePath(path string) ([]segment, error) {
	var segs []segment
	parts := strings.Split(path, ".")
	for i, part := range parts {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" && (i == 0 || rest == "") {
			return nil, fmt.Errorf("key %q has an empty path element", path)
		}
		if name != "" {
			segs = append(segs, segment{key: name, index: -1})
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil || n < 0 {
				return nil, fmt.Errorf("key %q: bad list index [%s", path, rest)
			}
			segs = append(segs, segment{index: n})
			rest = strings.TrimPrefix(after, "[")
			if after != "" && !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("key %q: unexpected %q after ]", path, after)
			}
		}
	}
	return segs[1:], nil // drop the root name
}

// lookup walks root along path. found is false when any step is missing.
// A map key that is all digits also indexes a list ("trigger.items.0").
func lookup(root any, segs []segment) (any, bool) {
	cur := root
	for _, s := range segs {
		switch c := cur.(type) {
		case map[string]any:
			if s.index >= 0 {
				return nil, false
			}
			v, ok := c[s.key]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i := s.index
			if i < 0 {
				n, err := strconv.Atoi(s.key)
				if err != nil {
					return nil, false
				}
				i = n
			}
			if i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
