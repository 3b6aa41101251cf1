package template

import (
	"errors"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/kv"
)

func testContext() Context {
	return NewContext(map[string]any{
		"count": 5.0, "ratio": 0.5, "name": "web-01", "tags": []any{"a", "b"},
		"dims": map[string]any{"path": "/var", "n": 2.0},
	}, kv.Map{"key": "v1", "app.token": "tok", "retries": "3"})
}

func TestRenderNativeAndText(t *testing.T) {
	cases := []struct {
		src  string
		want any
	}{
		{"plain text", "plain text"},
		{"{{ trigger.count }}", 5},
		{"{{ trigger.ratio }}", 0.5},
		{"n={{ trigger.count }}", "n=5"},
		{"{{ trigger.tags }}", []any{"a", "b"}},
		{"{{ trigger.dims }}", map[string]any{"path": "/var", "n": 2}},
		{"{{ trigger.count > 3 }}", true},
		{"{{ trigger.missing }}", nil},
		{"{{ trigger.missing or trigger.name }}", "web-01"},
		{"{{ st2kv.system.key }}", "v1"},
		{"{{ st2kv.system.app.token }}", "tok"},
		{"{{ st2kv.system['app.token'] }}", "tok"},
		{"{{ st2kv.system.absent }}", ""},
		{"x-{{ st2kv.system.key | upper }}", "x-V1"},
		{"{{ st2kv.system.retries | int + 1 }}", 4},
		{"{% if trigger.count > 3 %}big{% else %}small{% endif %}", "big"},
		{"{{ trigger.dims | to_json_string }}", `{"n":2,"path":"/var"}`},
		{"{{ trigger.tags | to_yaml_string }}", "- a\n- b\n"},
		{`{{ '{"a": [1]}' | to_complex }}`, map[string]any{"a": []any{1}}},
		{`{{ 'say "hi"' | json_escape }}`, `say \"hi\"`},
		{"{{ trigger.name | regex_match('web') }}", true},
		{"{{ trigger.name | regex_match('01') }}", false},
		{"{{ trigger.name | regex_search('01') }}", true},
		{"{{ trigger.name | regex_replace('web-(\\\\d+)', 'host\\\\1') }}", "host01"},
		{"{{ trigger.name | regex_substring('\\\\d') }}", "0"},
		{"{{ 'None' | use_none }}", nil},
		{"{{ st2kv.system.key | decrypt_kv }}", "v1"},
		{"{{ trigger.tags | join(',') }}", "a,b"},
		{"{{ '1.2.3' | version_compare('1.10.0') }}", -1},
		{"{{ '2.0.0' | version_more_than('1.9.9') }}", true},
		{"{{ '1.0.0-rc1' | version_less_than('1.0.0') }}", true},
		{"{{ 'v1.2.3' | version_equal('1.2.3') }}", true},
		{"{{ '1.2.3' | version_match('>=1.2.0') }}", true},
		{"{{ '1.2.3' | version_match('<1.2.0') }}", false},
		{"{{ '1.2.3' | version_bump_major }}", "2.0.0"},
		{"{{ '1.2.3' | version_bump_minor }}", "1.3.0"},
		{"{{ '1.2.3' | version_bump_patch }}", "1.2.4"},
		{"{{ '1.2.3' | version_strip_patch }}", "1.2"},
		// Datastore values are plain strings: compare, test, filter them.
		{"{{ st2kv.system.key == 'v1' }}", true},
		{"{{ st2kv.system.key in ['v1', 'v2'] }}", true},
		{"{% if st2kv.system.absent %}yes{% else %}no{% endif %}", "no"},
		{"{{ st2kv.system.absent | default('dflt', true) }}", "dflt"},
		{"{{ st2kv.system.key | length }}", 2},
		{"{{ st2kv.system.key is string }}", true},
		{"text st2kv.system.key stays: {{ st2kv.system.key }}", "text st2kv.system.key stays: v1"},
	}
	c := testContext()
	for _, tc := range cases {
		got, err := Render(tc.src, c)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if !same(got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
		}
	}
}

func same(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !same(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !same(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestRenderErrors(t *testing.T) {
	for _, src := range []string{"{{ trigger.count", "{{ foo( }}", "{% if %}", "{{ trigger.missing.deeper }}",
		"{{ 'x' | no_such_filter }}", "{{ '1.2' | version_bump_major }}", "{{ '1.2.3' | version_match('~1') }}", "{% include 'https://gh.ali360.cloudns.ch/etc/passwd' %}", "{{ 'x' | regex_match('(') }}"} {
		if _, err := Render(src, testContext()); err == nil {
			t.Errorf("%q: want an error", src)
		} else if !strings.Contains(err.Error(), "template") && !strings.Contains(err.Error(), "regex") {
			t.Errorf("%q: error does not name the template: %v", src, err)
		}
	}
}

type failingKV struct{}

func (failingKV) Get(string) (string, bool, error) { return "", false, errors.New("datastore down") }

func TestDatastoreErrorIsATemplateError(t *testing.T) {
	c := testContext()
	c.KV = failingKV{}
	for _, src := range []string{"{{ st2kv.system.key }}", "x {{ st2kv.system.key }}"} {
		if _, err := Render(src, c); err == nil || !strings.Contains(err.Error(), "datastore down") {
			t.Errorf("%s: err = %v", src, err)
		}
	}
}

func TestRenderValueWalksMapsAndLists(t *testing.T) {
	in := map[string]any{"a": "{{ trigger.count }}", "b": []any{"{{ trigger.name }}", 3}, "c": true}
	got, err := RenderValue(in, testContext())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 5, "b": []any{"web-01", 3}, "c": true}
	if !same(got, want) {
		t.Errorf("got %#v", got)
	}
	if in["a"] != "{{ trigger.count }}" {
		t.Error("input modified")
	}
	if _, err := RenderValue(map[string]any{"x": []any{"{{ bad"}}, testContext()); err == nil || !strings.HasPrefix(err.Error(), "x: [0]: ") {
		t.Errorf("error should name the path: %v", err)
	}
}

func TestCheck(t *testing.T) {
	if err := Check(map[string]any{"ok": "{{ trigger.x }}", "n": 1}); err != nil {
		t.Error(err)
	}
	if err := Check([]any{"{{ x"}); err == nil {
		t.Error("bad template passed Check")
	}
}

func TestRunawayTemplatesFail(t *testing.T) {
	for _, src := range []string{"{{ range(100000000) | list }}", "{% for i in range(100000000) %}{% endfor %}",
		"{{ 'ab' | center(999999999) }}", "{{ 'a' | indent(999999999) }}", "{{ [1] | batch(99999999) }}"} {
		if _, err := Render(src, testContext()); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s: err = %v, want a limit error", src, err)
		}
	}
	for src, want := range map[string]any{"{{ range(3) | list }}": []any{0, 1, 2}, "{{ range(5, 0, -2) | list }}": []any{5, 3, 1},
		"{% for i in range(1, 4) %}{{ i }}{% endfor %}": "123", "{{ range(0) | list }}": []any{}} {
		got, err := Render(src, testContext())
		if err != nil || !same(got, want) {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
}

func TestTriggerPaths(t *testing.T) {
	got := TriggerPaths(map[string]any{
		"a": "{{ trigger.instance_id or trigger.dimensions.host }}",
		"b": []any{"text trigger.outside {% if trigger.state == 'ALARM' %}x{% endif %}", 3},
		"c": "{{ trigger['odd'] }} {{ trigger.instance_id }}",
	})
	want := map[string]bool{"trigger.instance_id": true, "trigger.dimensions.host": true, "trigger.state": true}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for _, p := range got {
		if !want[p] {
			t.Errorf("unexpected %q in %v", p, got)
		}
	}
}
