package rule

import (
	"encoding/json"
	"strings"
	"testing"
)

const testSchema = `{
  "type": "object", "additionalProperties": false,
  "properties": {
    "state": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "items": {"type": "array", "items": {"type": "object", "additionalProperties": false,
      "properties": {"name": {"type": "string"}}}},
    "free": {}
  }
}`

func TestCheckPayloadKeys(t *testing.T) {
	r := &Rule{File: "r.yaml", Lines: map[string]int{"action.parameters.p": 9}, Criteria: Criteria{
		{Key: "trigger.state", Operator: "equals", Line: 1},
		{Key: "trigger.stat#2", Operator: "equals", Line: 2},
		{Key: "trigger.labels.anything", Operator: "exists", Line: 3},
		{Key: "trigger.items[0].name", Operator: "exists", Line: 4},
		{Key: "trigger.items.1.nme", Operator: "exists", Line: 5},
		{Key: "trigger.free.x.y", Operator: "exists", Line: 6},
		{Key: "any", Group: "any", Line: 7, Members: []Criteria{{{Key: "trigger.zzzzzz", Operator: "exists", Line: 8}}}},
		{Key: "trigger.state", Operator: "equals", Pattern: "{{ trigger.labels.x }}{{ trigger.sate }}", Line: 10},
	}, Action: ActionRef{Parameters: map[string]any{"p": "{{ trigger.items }} {{ trigger.lables.a }}"}}}
	got := Problems(CheckPayloadKeys(r, json.RawMessage(testSchema), "t.type")).Error()
	for _, want := range []string{
		`r.yaml:2: criteria.trigger.stat#2: "stat" is not in the t.type payload (did you mean "state"?)`,
		`r.yaml:5: criteria.trigger.items.1.nme: "nme" is not in the t.type payload (did you mean "name"?)`,
		`r.yaml:8: criteria.any[0].trigger.zzzzzz: "zzzzzz" is not in the t.type payload (known: free, items, labels, state)`,
		`r.yaml:10: criteria.trigger.state.pattern: the pattern reads trigger.sate: "sate" is not in the t.type payload (did you mean "state"?)`,
		`r.yaml:9: action.parameters.p: the template reads trigger.lables.a: "lables" is not in the t.type payload (did you mean "labels"?)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 5 {
		t.Errorf("%d problems, want 5:\n%s", n, got)
	}
	if ps := CheckPayloadKeys(r, nil, "t.type"); ps != nil {
		t.Errorf("no schema: %v", ps)
	}
}

func TestEqualIsPythonEquality(t *testing.T) {
	cases := []struct {
		a, b any
		want bool
	}{
		{int64(3), 3.0, true}, {uint(3), float32(3), true}, {true, true, true}, {true, 1, false}, {nil, nil, true},
		{nil, "", false}, {map[string]any{"a": 1}, map[string]any{"a": 1.0}, true},
		{map[string]any{"a": 1}, map[string]any{"b": 1}, false}, {[]any{1}, []any{1, 2}, false}, {"a", []any{"a"}, false},
	}
	for _, c := range cases {
		if got := equal(c.a, c.b); got != c.want {
			t.Errorf("equal(%#v, %#v) = %v", c.a, c.b, got)
		}
	}
}
