package pack

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

// FuzzParseRule feeds arbitrary YAML to the rule parser and, when it parses,
// evaluates the rule: neither may panic, and problems must name the file.
func FuzzParseRule(f *testing.F) {
	for _, seed := range []string{
		"name: r\nenabled: true\ntrigger: {type: aws.cloudwatch.alarm}\naction: {ref: a.b}\n",
		"name: r\nenabled: true\ntrigger:\n  type: x\ncriteria:\n  trigger.a:\n    type: equals\n    pattern: 1\naction:\n  ref: a.b\n  parameters:\n    p: '{{ trigger.a }}'\n",
		"criteria:\n  any:\n    - trigger.a: {type: regex, pattern: '(a|b)'}\n    - all:\n      - trigger.b#1: {type: exists}\n",
		"criteria:\n  trigger.l:\n    type: search\n    condition: any2any\n    pattern:\n      item.x: {type: gt, pattern: 3}\n",
		"criteria: [1, 2]\n",
		"criteria:\n  trigger.t: {type: timediff_lt, pattern: '{{ st2kv.system.k }}'}\n",
		"name: [\n",
		"type: {ref: backstop}\n",
		"- a\n- b\n",
		"",
	} {
		f.Add(seed)
	}
	payload := map[string]any{"a": 1.0, "b": "x", "l": []any{map[string]any{"x": 4.0}}, "t": "2026-01-01T00:00:00Z"}
	f.Fuzz(func(t *testing.T, src string) {
		var ps problems
		r := ParseRule("fuzz.yaml", []byte(src), "p", &ps)
		for _, p := range ps.list {
			if p.File != "fuzz.yaml" {
				t.Fatalf("problem without the file: %v", p)
			}
		}
		if r == nil {
			return
		}
		r.Compile()
		ix := rule.NewIndex([]*rule.Rule{r})
		ev := ix.EvaluateRule(r, trigger.Trigger{Type: r.TriggerType, Payload: payload}, kv.Map{"k": "60"})
		_ = ev.Explain()
	})
}

// FuzzParseAction checks the action parser and parameter resolution.
func FuzzParseAction(f *testing.F) {
	for _, seed := range []string{
		"name: a\nrunner_type: workflow\nparameters:\n  n: {type: integer, default: 3}\n  s: {type: string, enum: [x, y], required: true}\n",
		"name: a\nparameters:\n  n: {type: number, default: '{{ x }}'}\n  p: {position: -1}\n",
		"name: a\nparameters: [1]\n",
		"parameters:\n  o: {type: object, default: {a: 1}}\n  l: {type: array, default: [1, 2]}\n  b: {type: boolean, default: yes}\n",
	} {
		f.Add(seed, "5")
	}
	f.Fuzz(func(t *testing.T, src, value string) {
		var ps problems
		d, ok := parseDoc("fuzz.yaml", []byte(src), actionFields, &ps)
		if !ok {
			return
		}
		a := &Action{Parameters: map[string]*Param{}}
		for _, fl := range mappingEntries("fuzz.yaml", "parameters", d.node("parameters"), &ps) {
			if p := parseParam("fuzz.yaml", fl.key.Value, fl.val, &ps); p != nil {
				a.Parameters[fl.key.Value] = p
			}
		}
		given := map[string]any{}
		for name := range a.Parameters {
			given[name] = value
		}
		_, _ = a.ResolveParams(given)
	})
}

// FuzzParamSchema fuzzes the schema checker: a parameter schema (YAML) and
// a value. Whatever they are, nothing panics; a schema with problems names
// the file; and a value the schema accepts is accepted again as returned
// (canonical forms are fixed points), keeps its format and is never under
// a not_under directory. A refusal names the parameter.
func FuzzParamSchema(f *testing.F) {
	for _, seed := range [][2]string{
		{"{type: string, format: absolute-path, not_under: [/, /etc, /usr]}", "/tmp/../etc"},
		{"{type: string, format: absolute-path, not_under: [/etc]}", "//etc"},
		{"{type: string, format: systemd-unit}", "--host=evil.example"},
		{"{type: string, format: process-name}", "-H evil"},
		{"{type: string, format: hostname}", "i-0abc"},
		{"{type: string, format: ec2-instance-id}", "i-0abc\n"},
		{"{type: string, pattern: '[A-Za-z0-9_.*?]+', maxLength: 8}", "*.tmp"},
		{"{type: string, pattern: '(a|b'}", "a"},
		{"{type: integer, minimum: 1, maximum: 10, default: 5}", "11"},
		{"{type: number, minimum: 0.5}", "NaN"},
		{"{type: array, maxItems: 2, items: {type: string, format: signal}}", `["TERM","$(x)"]`},
		{"{type: string, enum: [a, b], minLength: 1}", "\x00"},
		{"{type: string, format: uri, maxLength: 20}", "https://example.com/ünï"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, schema, value string) {
		var root yaml.Node
		if yaml.Unmarshal([]byte(schema), &root) != nil || len(root.Content) == 0 {
			return
		}
		var ps problems
		p := parseParam("fuzz.yaml", "parameters.x", root.Content[0], &ps)
		for _, pr := range ps.list {
			if pr.File != "fuzz.yaml" {
				t.Fatalf("problem without the file: %v", pr)
			}
		}
		if p == nil || len(ps.list) > 0 {
			return
		}
		a := &Action{Ref: "p.a", Parameters: map[string]*Param{"x": p}}
		out, err := a.ResolveParams(map[string]any{"x": value})
		if err != nil {
			if !strings.Contains(err.Error(), `parameter "x"`) {
				t.Fatalf("refusal does not name the parameter: %v", err)
			}
			return
		}
		v, ok := out["x"]
		if !ok {
			return
		}
		again, refused := p.judge(v)
		if len(refused) > 0 || !reflect.DeepEqual(again, v) {
			t.Fatalf("accepted %q as %#v, which is then %v / %#v", value, v, refused, again)
		}
		if s, isStr := v.(string); isStr && p.Format != "" {
			if !formats[p.Format].valid(s) {
				t.Fatalf("accepted %q, not format %s", s, p.Format)
			}
			if dir, under := underAny(s, p.NotUnder); under {
				t.Fatalf("accepted %q under %s", s, dir)
			}
		}
	})
}
