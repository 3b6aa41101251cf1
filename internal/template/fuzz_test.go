package template

import "testing"

// FuzzRender: any template text either renders or fails with an error; it
// never panics or hangs the caller.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"{{ trigger.count }}", "x {{ trigger.name | upper }} y", "{% for t in trigger.tags %}{{ t }},{% endfor %}",
		"{{ st2kv.system.a.b }}", "{{ trigger.dims | to_json_string }}", "{{ 'a' | regex_replace('(a)', 'b') }}",
		"{% if trigger.count > 1 %}x{% endif %}", "{{ trigger.missing.x }}", "{{", "{% %}", "{{ 1/0 }}",
		"{% set x = 3 %}{{ x * 2 }}", "{{ trigger.tags[5] }}", "{{ range(3) | list }}",
	} {
		f.Add(seed)
	}
	c := testContext()
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Render(src, c)
	})
}
