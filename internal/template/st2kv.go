package template

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// StackStorm reads the datastore as `st2kv.system.KEY`, where dots extend the
// key: `st2kv.system.app.token` reads "app.token". Jinja cannot know where
// such a key ends, so Compile rewrites every `st2kv.system.a.b` inside a tag
// into a call `_st2kv_get("a.b")`, which yields a plain string: comparisons,
// `in`, filters, `default` and truthiness then behave as for any string, and
// a missing key is "" (falsy). `st2kv.system['odd-key']` also works.
var st2kvRef = regexp.MustCompile(`\bst2kv\.system\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)`)

const kvFunc = "_st2kv_get"

// rewriteKV applies the rewrite inside {{ }} and {% %} only, so text
// outside tags renders unchanged.
func rewriteKV(src string) string {
	if !strings.Contains(src, "st2kv.system.") {
		return src
	}
	out := src
	for _, tag := range tags(src) {
		out = strings.Replace(out, tag, st2kvRef.ReplaceAllString(tag, kvFunc+`("$1")`), 1)
	}
	return out
}

func indexTagStart(s string) int {
	a, b := strings.Index(s, "{{"), strings.Index(s, "{%")
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

type kvReader interface {
	Get(string) (string, bool, error)
}

// kvGetter is the function behind the rewrite.
func kvGetter(r kvReader) func(*exec.Evaluator, *exec.VarArgs) (string, error) {
	return func(_ *exec.Evaluator, params *exec.VarArgs) (string, error) {
		if len(params.Args) != 1 {
			return "", fmt.Errorf("%s takes one key", kvFunc)
		}
		return readKey(r, params.Args[0].String())
	}
}

func readKey(r kvReader, key string) (string, error) {
	if r == nil || key == "" {
		return "", nil
	}
	v, ok, err := r.Get(key)
	if err != nil {
		return "", fmt.Errorf("st2kv.system.%s: %w", key, err)
	}
	if !ok {
		return "", nil
	}
	return v, nil
}

// kvScope is `st2kv.system` itself, for item access: st2kv.system['key'].
type kvScope struct{ reader kvReader }

// GetItem implements exec.ItemGetter.
func (s *kvScope) GetItem(key any) (*exec.Value, bool) {
	v, err := readKey(s.reader, fmt.Sprint(key))
	if err != nil {
		return exec.AsValue(err), false
	}
	return exec.AsValue(v), true
}

// GetAttribute implements exec.AttributeGetter (reached only when the
// rewrite did not apply, e.g. `st2kv.system . key`).
func (s *kvScope) GetAttribute(name string) (*exec.Value, bool) { return s.GetItem(name) }

var triggerRef = regexp.MustCompile(`\btrigger((?:\.[A-Za-z_][A-Za-z0-9_]*)+)`)

// TriggerPaths lists the payload paths ("trigger.a.b") that the templates
// inside v read with dotted access, for validation against the trigger's
// payload schema. Only text inside {{ }} and {% %} counts.
func TriggerPaths(v any) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, tag := range tags(x) {
				for _, m := range triggerRef.FindAllString(tag, -1) {
					if !seen[m] {
						seen[m] = true
						out = append(out, m)
					}
				}
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// tags returns the {{ }} and {% %} segments of src.
func tags(src string) []string {
	var out []string
	rest := src
	for {
		start := indexTagStart(rest)
		if start < 0 {
			return out
		}
		closer := "}}"
		if rest[start+1] == '%' {
			closer = "%}"
		}
		end := strings.Index(rest[start+2:], closer)
		if end < 0 {
			return out
		}
		end += start + 2 + len(closer)
		out = append(out, rest[start:end])
		rest = rest[end:]
	}
}
