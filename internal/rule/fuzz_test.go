package rule

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medic-sre/medic/internal/trigger"
	"gopkg.in/yaml.v3"
)

// FuzzCriteria parses criteria YAML and evaluates it against a payload.
func FuzzCriteria(f *testing.F) {
	for _, seed := range []string{
		"trigger.state: {type: equals, pattern: ALARM}",
		"trigger.items[0].name: {type: matchwildcard, pattern: 'a*[!b]'}",
		"any:\n  - trigger.a: {type: lt, pattern: 3}\n  - trigger.b: {type: iregex, pattern: X}",
		"trigger.items:\n  type: search\n  condition: all2any\n  pattern:\n    item.name: {type: inside, pattern: [a, b]}",
		"trigger.at: {type: td_gt, pattern: 10}",
		"trigger.x#1: {type: nexists}\ntrigger.x#2: {type: ne, pattern: null}",
		"trigger..x: {type: equals}",
		"trigger.a[: {type: equals}",
		"all: 3",
	} {
		f.Add(seed)
	}
	payload := map[string]any{"state": "ALARM", "a": 2.0, "b": "x", "at": "2026-01-01T00:00:00Z",
		"items": []any{map[string]any{"name": "a"}}}
	f.Fuzz(func(t *testing.T, src string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(src), &n) != nil || len(n.Content) == 0 {
			return
		}
		cs, ps := ParseCriteria(n.Content[0], "f.yaml", "criteria")
		if len(ps) > 0 {
			return
		}
		r := &Rule{Ref: "f.r", TriggerType: "x", Action: ActionRef{Ref: "a.b"}, Criteria: cs}
		ev := NewIndex(nil).EvaluateRule(r, trigger.Trigger{Type: "x", Payload: payload}, nil)
		_ = ev.Explain()
	})
}

// FuzzWildcard: the fnmatch translation always yields a valid regex.
func FuzzWildcard(f *testing.F) {
	for _, s := range []string{"*", "a?c", "[abc]", "[!a]", "[]]", "[", "\\", "[a-", "(x)+"} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		_, err := matchWildcard(value, pattern)
		// Only a character class (a bad range like [z-a]) or invalid UTF-8
		// may make a pattern invalid; everything else is literal or * ?.
		if err != nil && utf8.ValidString(pattern) && !strings.Contains(pattern, "[") {
			t.Fatalf("pattern %q: %v", pattern, err)
		}
	})
}
