package rule

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/internal/template"
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
			if strings.HasPrefix(c.Path(), "trigger") {
				if reason := lacks(root, c.Path(), "", triggerType); reason != "" {
					ps = append(ps, Problem{File: r.File, Line: c.Line, Field: f, Reason: reason})
				}
			}
			for _, path := range template.TriggerPaths(c.Pattern) {
				if reason := lacks(root, path, "the pattern reads "+path+": ", triggerType); reason != "" {
					ps = append(ps, Problem{File: r.File, Line: c.Line, Field: f + ".pattern", Reason: reason})
				}
			}
		}
	}
	walk(r.Criteria, "criteria")
	for _, name := range sortedNames(r.Action.Parameters) {
		field := "action.parameters." + name
		for _, path := range template.TriggerPaths(r.Action.Parameters[name]) {
			if reason := lacks(root, path, "the template reads "+path+": ", triggerType); reason != "" {
				ps = append(ps, Problem{File: r.File, Line: r.Line(field), Field: field, Reason: reason})
			}
		}
	}
	return ps
}

// lacks explains why path cannot exist in the schema, or returns "".
func lacks(schema map[string]any, path, prefix, triggerType string) string {
	segs, err := parsePath(path)
	if err != nil {
		return ""
	}
	missing, known := schemaLacks(schema, segs)
	if missing == "" {
		return ""
	}
	reason := fmt.Sprintf("%s%q is not in the %s payload", prefix, missing, triggerType)
	if guess := closest(missing, known); guess != "" {
		return reason + fmt.Sprintf(" (did you mean %q?)", guess)
	}
	if len(known) > 0 {
		reason += " (known: " + strings.Join(known, ", ") + ")"
	}
	return reason
}

// closest returns the known name within two edits of name, if any.
func closest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func sortedNames(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
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
