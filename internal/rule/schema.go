package rule

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// CheckPayloadKeys reports criteria keys that cannot exist in payloads of
// the given JSON schema (a trigger type's payload_schema): a typo such as
// trigger.metric_nam would otherwise make a rule silently never match (or,
// with nexists, always). Where the schema leaves a subtree open (no
// properties, additionalProperties not false) any key below it is accepted.
func CheckPayloadKeys(r *Rule, schema json.RawMessage, triggerType string) []Problem {
	var root map[string]any
	if len(schema) == 0 || json.Unmarshal(schema, &root) != nil {
		return nil
	}
	var ps []Problem
	var walk func(cs Criteria, field string)
	walk = func(cs Criteria, field string) {
		for i := range cs {
			c := &cs[i]
			f := field + "." + c.Key
			if c.Group != "" {
				for j, m := range c.Members {
					walk(m, fmt.Sprintf("%s[%d]", f, j))
				}
				continue
			}
			segs, err := parsePath(c.Path())
			if err != nil || !strings.HasPrefix(c.Path(), "trigger") {
				continue
			}
			if missing, known := schemaLacks(root, segs); missing != "" {
				reason := fmt.Sprintf("%q is not in the %s payload", missing, triggerType)
				if len(known) > 0 {
					reason += " (known: " + strings.Join(known, ", ") + ")"
				}
				ps = append(ps, Problem{File: r.File, Line: c.Line, Field: f, Reason: reason})
			}
		}
	}
	walk(r.Criteria, "criteria")
	return ps
}

// schemaLacks walks segs through the schema; it returns the first segment
// the schema rules out, with the names it allows there.
func schemaLacks(schema map[string]any, segs []segment) (string, []string) {
	cur := schema
	for _, s := range segs {
		if s.index >= 0 || isIndex(s.key) {
			items, ok := cur["items"].(map[string]any)
			if !ok {
				return "", nil
			}
			cur = items
			continue
		}
		props, _ := cur["properties"].(map[string]any)
		if next, ok := props[s.key].(map[string]any); ok {
			cur = next
			continue
		}
		if extra, isBool := cur["additionalProperties"].(bool); isBool && !extra {
			known := make([]string, 0, len(props))
			for k := range props {
				known = append(known, k)
			}
			sort.Strings(known)
			return s.key, known
		}
		return "", nil // an open subtree: anything may be there
	}
	return "", nil
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
