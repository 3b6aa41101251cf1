package rule

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/trigger"
)

var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func payload() map[string]any {
	return map[string]any{
		"state": "ALARM", "name": "Disk-Full", "count": 5.0, "ratio": 0.25, "empty": nil,
		"tags":  []any{"prod", "web"},
		"dims":  map[string]any{"path": "/var/log", "host": "web-01"},
		"items": []any{map[string]any{"name": "a", "v": 1.0}, map[string]any{"name": "b", "v": 2.0}},
		"multi": "line1\nline2",
		"at":    "2026-01-01T11:59:00Z",
		"old":   "2025-12-31 12:00:00",
	}
}

func evalOne(t *testing.T, c Criterion, store kv.Reader) (bool, CriterionResult) {
	t.Helper()
	r := &Rule{Ref: "t.r", Enabled: true, TriggerType: "x", Action: ActionRef{Ref: "t.a"}, Criteria: Criteria{c}}
	if ps := r.Compile(); len(ps) > 0 {
		t.Fatalf("compile %+v: %v", c, Problems(ps))
	}
	ix := NewIndex([]*Rule{r})
	ix.Now = func() time.Time { return testNow }
	ev := ix.EvaluateRule(r, trigger.Trigger{Type: "x", Payload: payload()}, store)
	return ev.Matched, ev.Criteria[0]
}

func TestOperators(t *testing.T) {
	cases := []struct {
		key, op string
		pattern any
		want    bool
	}{
		{"trigger.state", "equals", "ALARM", true},
		{"trigger.state", "EQ", "ALARM", true},
		{"trigger.state", "equals", "alarm", false},
		{"trigger.count", "equals", 5, true},
		{"trigger.count", "equals", "5", false}, // no type coercion, as in Python
		{"trigger.tags", "equals", []any{"prod", "web"}, true},
		{"trigger.state", "nequals", "OK", true},
		{"trigger.state", "neq", "ALARM", false},
		{"trigger.state", "ne", "OK", true},
		{"trigger.missing", "nequals", "x", true},
		{"trigger.state", "iequals", "alarm", true},
		{"trigger.state", "IEQ", "Alarm", true},
		{"trigger.state", "in", []any{"ALARM"}, true},
		{"trigger.state", "nin", []any{"ALARM"}, false},
		{"trigger.at", "td_lt", 120, true},
		{"trigger.at", "td_gt", 120, false},
		{"trigger.name", "contains", "Full", true},
		{"trigger.tags", "contains", "web", true},
		{"trigger.tags", "contains", "we", false},
		{"trigger.dims", "contains", "path", true},
		{"trigger.name", "ncontains", "Full", false},
		{"trigger.name", "ncontains", "xyz", true},
		{"trigger.name", "icontains", "full", true},
		{"trigger.name", "incontains", "FULL", false},
		{"trigger.name", "incontains", "nope", true},
		{"trigger.name", "startswith", "Disk", true},
		{"trigger.name", "istartswith", "disk", true},
		{"trigger.name", "endswith", "Full", true},
		{"trigger.name", "iendswith", "FULL", true},
		{"trigger.count", "lessthan", 6, true},
		{"trigger.count", "lt", 5, false},
		{"trigger.count", "greaterthan", 4.5, true},
		{"trigger.count", "GT", 5, false},
		{"trigger.state", "lessthan", "B", true},
		{"trigger.count", "lessthan", "6", false}, // type error: no match
		{"trigger.dims.path", "matchwildcard", "/var/*", true},
		{"trigger.dims.path", "matchwildcard", "*/log", true},
		{"trigger.dims.path", "matchwildcard", "/var/?", false},
		{"trigger.dims.path", "matchwildcard", "/var/?og", true},
		{"trigger.dims.host", "matchwildcard", "web-0[0-9]", true},
		{"trigger.dims.host", "matchwildcard", "web-0[!1]", false},
		{"trigger.dims.host", "matchwildcard", "web-0[[:digit:]]", false}, // fnmatch has no POSIX classes
		{"trigger.name", "regex", "sk-F", true},
		{"trigger.name", "regex", "^sk", false},
		{"trigger.name", "iregex", "DISK", true},
		{"trigger.name", "matchregex", "Disk", true},
		{"trigger.name", "matchregex", "Full", false}, // anchored at the start
		{"trigger.multi", "matchregex", "line1.line2", true},
		{"trigger.at", "timediff_lt", 120, true},
		{"trigger.at", "timediff_gt", 120, false},
		{"trigger.old", "timediff_gt", 3600, true},
		{"trigger.dims.path", "exists", nil, true},
		{"trigger.dims.nope", "exists", nil, false},
		{"trigger.empty", "exists", nil, false},
		{"trigger.dims.nope", "nexists", nil, true},
		{"trigger.state", "nexists", nil, false},
		{"trigger.state", "inside", []any{"ALARM", "OK"}, true},
		{"trigger.state", "inside", "ALARM|OK", true},
		{"trigger.state", "ninside", []any{"OK"}, true},
		{"trigger.state", "ninside", []any{"ALARM"}, false},
		{"trigger.items[1].name", "equals", "b", true},
		{"trigger.items.0.name", "equals", "a", true},
		{"trigger.items[5].name", "exists", nil, false},
		{"trigger.state#again", "equals", "ALARM", true},
		// A null pattern never matches, except for nequals/exists/nexists.
		{"trigger.state", "equals", nil, false},
		{"trigger.state", "contains", nil, false},
		{"trigger.state", "nequals", nil, true},
		// Missing values: no match, no error.
		{"trigger.missing", "contains", "x", false},
		{"trigger.missing", "equals", "x", false},
	}
	for _, c := range cases {
		got, res := evalOne(t, Criterion{Key: c.key, Operator: c.op, Pattern: c.pattern}, nil)
		if got != c.want {
			t.Errorf("%s %s %v = %v, want %v (value %v, err %v)", c.key, c.op, c.pattern, got, c.want, res.Value, res.Err)
		}
	}
}

func TestOperatorTypeErrorIsExplained(t *testing.T) {
	_, res := evalOne(t, Criterion{Key: "trigger.count", Operator: "lessthan", Pattern: "6"}, nil)
	if res.Err == nil || res.Matched {
		t.Fatalf("want a type error, got %+v", res)
	}
}

func TestTemplatedPatterns(t *testing.T) {
	store := kv.Map{"threshold": "4", "env": "prod"}
	cases := []struct {
		c    Criterion
		want bool
	}{
		{Criterion{Key: "trigger.tags", Operator: "contains", Pattern: "{{ st2kv.system.env }}"}, true},
		{Criterion{Key: "trigger.count", Operator: "greaterthan", Pattern: "{{ st2kv.system.threshold | int }}"}, true},
		{Criterion{Key: "trigger.state", Operator: "equals", Pattern: "{{ trigger.state }}"}, true},
		{Criterion{Key: "trigger.count", Operator: "equals", Pattern: "{{ trigger.count }}"}, true},
	}
	for _, c := range cases {
		if got, res := evalOne(t, c.c, store); got != c.want {
			t.Errorf("%+v = %v (pattern %#v, err %v)", c.c, got, res.Pattern, res.Err)
		}
	}
}

func TestSearchOperator(t *testing.T) {
	item := func(op string, p any) Criterion { return Criterion{Key: "item.name", Operator: op, Pattern: p} }
	cases := []struct {
		cond   string
		search Criteria
		want   bool
	}{
		{"any", Criteria{item("equals", "a"), {Key: "item.v", Operator: "equals", Pattern: 1}}, true},
		{"any", Criteria{item("equals", "a"), {Key: "item.v", Operator: "equals", Pattern: 2}}, false},
		{"all", Criteria{{Key: "item.v", Operator: "greaterthan", Pattern: 0}}, true},
		{"all", Criteria{item("equals", "a")}, false},
		{"any2any", Criteria{item("equals", "zzz"), {Key: "item.v", Operator: "equals", Pattern: 2}}, true},
		{"all2any", Criteria{item("equals", "a"), {Key: "item.v", Operator: "equals", Pattern: 2}}, true},
		{"all2any", Criteria{item("equals", "a")}, false},
		{"any", Criteria{item("equals", "{{ trigger.items[1].name }}")}, true},
	}
	for _, c := range cases {
		got, res := evalOne(t, Criterion{Key: "trigger.items", Operator: "search", Condition: c.cond, Search: c.search}, nil)
		if got != c.want {
			t.Errorf("search %s %+v = %v (%s, %v)", c.cond, c.search, got, res.Detail, res.Err)
		}
	}
}

func TestGroups(t *testing.T) {
	eq := func(k string, p any) Criteria { return Criteria{{Key: k, Operator: "equals", Pattern: p}} }
	anyOf := Criterion{Key: "any", Group: "any", Members: []Criteria{eq("trigger.state", "OK"), eq("trigger.name", "Disk-Full")}}
	if got, _ := evalOne(t, anyOf, nil); !got {
		t.Error("any: one member matches, group should match")
	}
	none := Criterion{Key: "any", Group: "any", Members: []Criteria{eq("trigger.state", "OK"), eq("trigger.name", "x")}}
	if got, _ := evalOne(t, none, nil); got {
		t.Error("any: no member matches")
	}
	allOf := Criterion{Key: "all", Group: "all", Members: []Criteria{eq("trigger.state", "ALARM"), {anyOf}}}
	if got, res := evalOne(t, allOf, nil); !got || len(res.Members) != 2 {
		t.Errorf("nested all/any = %v %+v", got, res)
	}
}

func TestCompileProblems(t *testing.T) {
	cases := []struct {
		c      Criterion
		reason string
	}{
		{Criterion{Key: "trigger.x", Operator: "bogus"}, "unknown operator"},
		{Criterion{Key: "trigger.x"}, "is required"},
		{Criterion{Key: "payload.x", Operator: "equals"}, "must start with"},
		{Criterion{Key: "trigger.x[a]", Operator: "equals"}, "bad list index"},
		{Criterion{Key: "trigger.x", Operator: "regex", Pattern: "("}, "invalid regex"},
		{Criterion{Key: "trigger.x", Operator: "equals", Pattern: "{{ x"}, "template"},
		{Criterion{Key: "trigger.x", Operator: "timediff_lt", Pattern: "soon"}, "number of seconds"},
		{Criterion{Key: "trigger.x", Operator: "search", Condition: "some"}, "unknown search condition"},
		{Criterion{Key: "trigger.x", Operator: "search", Condition: "any"}, "item criteria"},
		{Criterion{Key: "trigger.x", Operator: "equals", Condition: "any"}, "only the search operator"},
		{Criterion{Key: "any", Group: "any"}, "at least one"},
		{Criterion{Key: "item.x", Operator: "exists"}, `must start with "trigger."`},
		{Criterion{Key: "trigger.l", Operator: "search", Condition: "any", Search: Criteria{{Key: "trigger.x", Operator: "exists"}}}, `must start with "item."`},
	}
	for _, c := range cases {
		r := &Rule{File: "r.yaml", TriggerType: "x", Action: ActionRef{Ref: "a.b"}, Criteria: Criteria{c.c}}
		ps := r.Compile()
		if len(ps) != 1 || !contains2(ps[0].Error(), c.reason) {
			t.Errorf("%+v: problems %v, want %q", c.c, Problems(ps), c.reason)
		}
	}
}

func contains2(s, sub string) bool { ok, _ := contains(s, sub); return ok }
