package shell

import (
	"os/exec"
	"strings"
	"testing"
)

// hostile values that would break out of naive quoting or command splicing.
var hostile = []string{
	`'; touch /tmp/pwned; '`,
	`$(touch /tmp/pwned)`,
	"`touch /tmp/pwned`",
	"a\nb; rm -rf /",
	`"quoted" and \backslash\`,
	`${HOME}`,
	"",
	"unicode ✓ and 'single' quotes",
}

func TestScriptPassesHostileValuesVerbatim(t *testing.T) {
	for _, v := range hostile {
		script, err := Script(`printf '%s' "$value"`, map[string]any{"value": v})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", script).Output()
		if err != nil {
			t.Fatalf("value %q: script failed: %v\n%s", v, err, script)
		}
		if string(out) != v {
			t.Errorf("value %q came back as %q", v, out)
		}
	}
}

func TestScriptRejectsBadNames(t *testing.T) {
	_, err := Script("true", map[string]any{"a;b": "x"})
	if err == nil || !strings.Contains(err.Error(), `"a;b"`) {
		t.Fatalf("want error naming the parameter, got %v", err)
	}
}

func TestScriptIsDeterministicAndTyped(t *testing.T) {
	params := map[string]any{"b": 2.0, "a": true, "c": []any{"x", 1.0}}
	s1, _ := Script("true", params)
	s2, _ := Script("true", params)
	if s1 != s2 {
		t.Fatal("script differs between runs")
	}
	want := "a='true'; export a\nb='2'; export b\nc='[\"x\",1]'; export c\ntrue"
	if s1 != want {
		t.Fatalf("got\n%s\nwant\n%s", s1, want)
	}
}

func FuzzQuote(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsRune(v, 0) {
			return // a NUL cannot be passed in a shell word at all
		}
		out, err := exec.Command("sh", "-c", "printf '%s' "+Quote(v)).Output()
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if string(out) != v {
			t.Fatalf("%q came back as %q", v, out)
		}
	})
}
