package pack

import (
	"fmt"
	"strings"
	"testing"
)

func TestLintFindsParametersThatCanBecomeOptions(t *testing.T) {
	set, err := LoadDir("testdata/lint")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range Lint(set) {
		got = append(got, fmt.Sprintf("%s:%d %s %s %s", w.File, w.Line, w.Action, w.Field, w.Param))
	}
	want := []string{
		"testdata/lint/risky/actions/clean.yaml:22 risky.clean parameters.diagnose path",
		"testdata/lint/risky/actions/clean.yaml:23 risky.clean parameters.diagnose path",
		"testdata/lint/risky/actions/clean.yaml:24 risky.clean parameters.diagnose unit",
		"testdata/lint/risky/actions/clean.yaml:35 risky.clean parameters.remediate path",
		"testdata/lint/risky/actions/clean.yaml:36 risky.clean parameters.remediate path",
		"testdata/lint/risky/actions/clean.yaml:36 risky.clean parameters.remediate unit",
		"testdata/lint/risky/actions/clean.yaml:40 risky.clean parameters.verify unit",
		"testdata/lint/risky/actions/scripts/report.sh:4 risky.report entry_point 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	w := Lint(set)[0]
	if s := w.String(); !strings.Contains(s, `"$path" is an argument of du with no "--" before it`) || !strings.HasPrefix(s, "testdata/lint/risky/actions/clean.yaml:22: risky.clean parameters.diagnose: ") {
		t.Errorf("message %q", s)
	}
}

func TestShippedPacksHaveNoLintWarnings(t *testing.T) {
	set, err := LoadDir("../../packs")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range Lint(set) {
		t.Error(w)
	}
}

func TestLintShellWords(t *testing.T) {
	params := []string{"p"}
	cases := map[string]int{
		`cat "$p"`:                         1,
		`cat -- "$p"`:                      0,
		`cat "x$p"`:                        0,
		`cat '$p'`:                         0,
		`cat ${p:-default}`:                1,
		`x=$(cat "$p")`:                    1,
		"x=`cat \"$p\"`":                   1,
		`echo "$(printf %s "$p")" "$p"`:    1, // echo's argument; printf's data is fine
		`a | b "$p" && c -- "$p"`:          1,
		`head -n "$p" file`:                0,
		`cat file > "$p"`:                  0,
		`cat file 2>"$p"`:                  0,
		`if grep -q -- "$p" f; then :; fi`: 0,
		`# cat "$p"`:                       0,
		`cat x # "$p"`:                     0,
		`printf "$p"`:                      1,
		`find "$p" -name "$p"`:             1,
		`find ./"$p" -name "$p"`:           0,
		`for f in "$p"; do :; done`:        0,
		`case "$p" in -*) exit 1 ;; esac`:  0,
		"cat \\\n  \"$p\"":                 1,
	}
	for text, want := range cases {
		if got := len(lintShell(text, params)); got != want {
			t.Errorf("%q: %d warning(s), want %d", text, got, want)
		}
	}
}
