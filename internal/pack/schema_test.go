package pack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/medic-sre/medic/internal/rule"
)

// schemaAction loads one action "p.a" whose parameters are given as YAML
// lines (indented under parameters:), failing the test on any problem.
func schemaAction(t *testing.T, params string) *Action {
	t.Helper()
	set, err := LoadFS(fstest.MapFS{
		"p/pack.yaml":      {Data: []byte("ref: p\n")},
		"p/actions/a.yaml": {Data: []byte("name: a\nrunner_type: workflow\nparameters:\n" + params)},
	}, "packs")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := set.Action("p.a")
	return a
}

// hostileValues are what an attacker writes into an alert field or a chat
// command, hoping it becomes an option, a path elsewhere, a second command
// or a second line.
var hostileValues = map[string]string{
	"long option":        "--host=evil.example",
	"short option":       "-H evil",
	"glued short option": "-Hevil",
	"files0 option":      "--files0-from=/proc/self/environ",
	"dot dot":            "..",
	"dot dot path":       "../../etc",
	"NUL":                "nginx\x00evil",
	"newline":            "nginx\nreboot",
	"carriage return":    "nginx\rreboot",
	"tab":                "nginx\tevil",
	"command subst":      "$(touch PWNED)",
	"backticks":          "`touch PWNED`",
	"semicolon":          "nginx; reboot",
	"quote":              "nginx'evil",
	"space":              "nginx evil",
	"empty":              "",
	"RTL override":       "nginx\u202eecivres",
	"fullwidth":          "ｎｇｉｎｘ",
	"cyrillic homoglyph": "nginх",
	"very long":          strings.Repeat("a", 70000),
}

// Every Medic format refuses every hostile value; each accepts its
// ordinary values, so the refusals are not of everything.
func TestFormatsRefuseHostileValues(t *testing.T) {
	accepts := map[string][]string{
		"absolute-path":   {"/var/log", "/tmp/medic-demo/scratch", "/data/my dir"},
		"systemd-unit":    {"nginx", "nginx.service", "getty@tty1.service", "dev-disk.mount"},
		"process-name":    {"java", "nginx", "python3.12", "kworker:0"},
		"ec2-instance-id": {"i-0abc1234def567890", "i-0abc1234", "i-0web1"},
		"signal":          {"TERM", "KILL", "HUP"},
		"hostname":        {"localhost", "web-1", "i-0abc1234def567890", "ip-10-0-0-1.ec2.internal"},
		"ipv4":            {"10.0.0.1"},
		"ipv6":            {"fe80::1"},
		"uri":             {"https://example.com/health", "http://10.0.0.1:8080/x?y=1"},
		"date-time":       {"2026-12-04T17:00:00Z"},
	}
	if len(accepts) != len(formats) {
		t.Fatalf("test every format: %d here, %d known", len(accepts), len(formats))
	}
	for name, good := range accepts {
		a := schemaAction(t, "  x: {type: string, format: "+name+"}\n")
		for _, v := range good {
			if _, err := a.ResolveParams(map[string]any{"x": v}); err != nil {
				t.Errorf("format %s refuses %q: %v", name, v, err)
			}
		}
		for what, v := range hostileValues {
			_, err := a.ResolveParams(map[string]any{"x": v})
			var perr *ParamError
			if !errors.As(err, &perr) {
				t.Errorf("format %s accepts the %s value %.80q", name, what, v)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, `parameter "x"`) || !strings.Contains(msg, "format "+name) || len(msg) > 1000 {
				t.Errorf("format %s, %s value: the refusal must name the parameter and the format, briefly: %.300s", name, what, msg)
			}
		}
	}
}

// Patterns are anchored: the whole value must match, so a newline or a
// second word after an accepted prefix is refused.
func TestPatternMatchesTheWholeValue(t *testing.T) {
	a := schemaAction(t, "  x: {type: string, pattern: '[a-z]+'}\n")
	for _, v := range []string{"abc", "z"} {
		if _, err := a.ResolveParams(map[string]any{"x": v}); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for what, v := range hostileValues {
		if _, err := a.ResolveParams(map[string]any{"x": v}); err == nil {
			if what != "very long" { // all a: the pattern alone has no length limit
				t.Errorf("pattern [a-z]+ accepts the %s value %.80q", what, v)
			}
		}
	}
	for _, v := range []string{"abc\n", "abc;d", "ABC", "abc def"} {
		_, err := a.ResolveParams(map[string]any{"x": v})
		if err == nil || !strings.Contains(err.Error(), "does not match pattern [a-z]+") {
			t.Errorf("%q: want a pattern refusal, got %v", v, err)
		}
	}
}

// free_disk's path: judged after cleaning, so //etc and /tmp/../etc are
// /etc, which not_under forbids; the clean value is what is passed on.
func TestAbsolutePathIsJudgedAfterCleaning(t *testing.T) {
	a := schemaAction(t, "  path: {type: string, format: absolute-path, not_under: [/, /etc, /usr]}\n")
	for _, v := range []string{"//etc", "/tmp/../etc", "/etc/", "/./etc", "/usr/lib/../../etc", "/etc/ssl", "///", "/..", "/tmp/../../..", "//usr//lib"} {
		_, err := a.ResolveParams(map[string]any{"path": v})
		if err == nil || !strings.Contains(err.Error(), `parameter "path"`) || !strings.Contains(err.Error(), "not_under forbids") {
			t.Errorf("%q: want a not_under refusal naming the parameter, got %v", v, err)
		}
	}
	for v, want := range map[string]string{"/tmp/../var/tmp": "/var/tmp", "//data//x/": "/data/x", "/etcetera": "/etcetera", "/usr2/x": "/usr2/x"} {
		got, err := a.ResolveParams(map[string]any{"path": v})
		if err != nil || got["path"] != want {
			t.Errorf("%q: got %v, %v; want %q", v, got["path"], err, want)
		}
	}
	for _, v := range []string{"etc", "./etc", "~/x", "/tmp/x\n/etc", "/tmp/\x00"} {
		if _, err := a.ResolveParams(map[string]any{"path": v}); err == nil || !strings.Contains(err.Error(), "format absolute-path") {
			t.Errorf("%q: want a format refusal, got %v", v, err)
		}
	}
}

func TestBoundsLengthsAndItems(t *testing.T) {
	a := schemaAction(t, `  n: {type: integer, minimum: 1, maximum: 10}
  s: {type: string, minLength: 2, maxLength: 3}
  l: {type: array, maxItems: 2, items: {type: string, pattern: '[A-Z][A-Z0-9]*'}}
  f: {type: number, minimum: 0.5}
`)
	cases := []struct {
		given map[string]any
		want  string // "" accepts
	}{
		{map[string]any{"n": "10", "s": "ab", "l": []any{"U1", "S2"}, "f": 0.5}, ""},
		{map[string]any{"n": 0}, `parameter "n": 0 is less than minimum 1`},
		{map[string]any{"n": "11"}, `parameter "n": 11 is more than maximum 10`},
		{map[string]any{"n": -9223372036854775807}, "less than minimum 1"},
		{map[string]any{"f": 0.25}, `parameter "f": 0.25 is less than minimum 0.5`},
		{map[string]any{"s": "a"}, `parameter "s": "a" is 1 characters, fewer than minLength 2`},
		{map[string]any{"s": "abcd"}, "more than maxLength 3"},
		{map[string]any{"s": "äöü"}, ""}, // characters, not bytes
		{map[string]any{"l": []any{"U1", "U2", "U3"}}, `parameter "l": has 3 items, more than maxItems 2`},
		{map[string]any{"l": []any{"U1", "-H evil"}}, `parameter "l": item 1: "-H evil" does not match pattern`},
		{map[string]any{"l": `["U1", "$(x)"]`}, "item 1:"},
		{map[string]any{"l": []any{"U1", 5}}, `item 1: "5" does not match`},
	}
	for _, c := range cases {
		_, err := a.ResolveParams(c.given)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.given, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: want %q, got %v", c.given, c.want, err)
		}
	}
}

// medic pack validate refuses a schema that cannot be right, naming the
// file, line and field.
func TestBadSchemasAreLoadProblems(t *testing.T) {
	cases := map[string]struct{ params, want string }{
		"bad regex":               {"  x: {type: string, pattern: '[a-'}\n", "actions/a.yaml:4: parameters.x.pattern: not a valid regular expression"},
		"unknown format":          {"  x: {type: string, format: unit}\n", `actions/a.yaml:4: parameters.x.format: unknown format "unit" (known: absolute-path,`},
		"default breaks pattern":  {"  x: {type: string, pattern: '[a-z]+', default: 'A1'}\n", `parameters.x.default: "A1" does not match pattern [a-z]+`},
		"default breaks format":   {"  x: {type: string, format: systemd-unit, default: '-x'}\n", `parameters.x.default: "-x" is not format systemd-unit`},
		"default breaks maximum":  {"  x: {type: integer, maximum: 5, default: 6}\n", "parameters.x.default: 6 is more than maximum 5"},
		"default under forbidden": {"  x: {type: string, format: absolute-path, not_under: [/etc], default: //etc/x}\n", "parameters.x.default: \"//etc/x\" (cleaned: \"/etc/x\") is /etc or below it"},
		"enum breaks format":      {"  x: {type: string, format: signal, enum: [TERM, SIGKILL]}\n", "parameters.x.enum[1]: breaks the parameter's own constraints"},
		"min above max":           {"  x: {type: integer, minimum: 5, maximum: 1}\n", "parameters.x.minimum: 5 is above maximum 1"},
		"minLength above max":     {"  x: {type: string, minLength: 5, maxLength: 1}\n", "parameters.x.minLength: 5 is above maxLength 1"},
		"pattern on integer":      {"  x: {type: integer, pattern: '[0-9]'}\n", "parameters.x.pattern: applies to string parameters, not integer"},
		"maximum on string":       {"  x: {type: string, maximum: 3}\n", "parameters.x.maximum: applies to integer or number parameters, not string"},
		"items on string":         {"  x: {type: string, items: {type: string}}\n", "parameters.x.items: applies to array parameters, not string"},
		"not_under needs format":  {"  x: {type: string, not_under: [/etc]}\n", "parameters.x.not_under: needs format: absolute-path"},
		"not_under not clean":     {"  x: {type: string, format: absolute-path, not_under: [etc/]}\n", `parameters.x.not_under[0]: "etc/" is not a clean absolute directory`},
		"negative maxLength":      {"  x: {type: string, maxLength: -1}\n", `parameters.x.maxLength: must be a non-negative integer, got "-1"`},
		"minimum not a number":    {"  x: {type: integer, minimum: low}\n", `parameters.x.minimum: must be a number, got "low"`},
		"item field":              {"  x: {type: array, items: {type: string, required: true}}\n", "parameters.x.items.required: does not apply to array items"},
		"item pattern bad":        {"  x: {type: array, items: {type: string, pattern: '(('}}\n", "parameters.x.items.pattern: not a valid regular expression"},
		"items not a mapping":     {"  x: {type: array, items: string}\n", "parameters.x.items: must be a mapping (the schema of each item)"},
		"nested arrays":           {"  x: {type: array, items: {type: array}}\n", "parameters.x.items.type: arrays of arrays are not supported"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFS(fstest.MapFS{
				"p/pack.yaml":      {Data: []byte("ref: p\n")},
				"p/actions/a.yaml": {Data: []byte("name: a\nrunner_type: workflow\nparameters:\n" + c.params)},
			}, "packs")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want %q, got %v", c.want, err)
			}
		})
	}
}

// A rule's literal parameter that breaks the action's constraints is a
// load problem too: it would be refused on every run.
func TestRuleLiteralBreakingAConstraint(t *testing.T) {
	_, err := LoadFS(fstest.MapFS{
		"p/pack.yaml":      {Data: []byte("ref: p\n")},
		"p/actions/a.yaml": {Data: []byte("name: a\nrunner_type: workflow\nparameters:\n  n: {type: integer, maximum: 5}\n")},
		"p/rules/r.yaml":   {Data: []byte("name: r\nenabled: true\ntrigger: {type: prometheus.alert}\naction: {ref: p.a, parameters: {n: 6}}\n")},
	}, "packs")
	if err == nil || !strings.Contains(err.Error(), "rules/r.yaml:4: action.parameters.n: 6 is more than maximum 5") {
		t.Fatalf("got %v", err)
	}
}

func scriptPack(entryPoint string) string {
	return "name: s\nrunner_type: remote-shell-script\nentry_point: " + entryPoint + "\n"
}

func TestEntryPointMustStayInsideItsPack(t *testing.T) {
	cases := map[string]struct{ action, want string }{
		"dot dot":            {scriptPack("../../../../etc/hostname"), `actions/s.yaml:3: entry_point: "../../../../etc/hostname" resolves outside the pack`},
		"absolute":           {scriptPack("/etc/hostname"), `entry_point: "/etc/hostname" resolves outside the pack`},
		"into another pack":  {scriptPack("../../q/actions/x.sh"), "resolves outside the pack"},
		"missing":            {scriptPack("scripts/nope.sh"), `entry_point: "scripts/nope.sh": no such script in the pack`},
		"workflow path":      {"name: w\nrunner_type: workflow\nentry_point: ../../etc/x\n", `entry_point: "../../etc/x" is not a state machine name`},
		"inside is fine":     {scriptPack("scripts/ok.sh"), ""},
		"up and back inside": {scriptPack("../actions/scripts/ok.sh"), ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFS(fstest.MapFS{
				"p/pack.yaml":             {Data: []byte("ref: p\n")},
				"p/actions/s.yaml":        {Data: []byte(c.action)},
				"p/actions/scripts/ok.sh": {Data: []byte("#!/bin/sh\necho ok\n")},
				"q/pack.yaml":             {Data: []byte("ref: q\n")},
				"q/actions/x.sh":          {Data: []byte("#!/bin/sh\n")},
			}, "packs")
			switch {
			case c.want == "" && err != nil:
				t.Errorf("want no problem, got %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("want %q, got %v", c.want, err)
			}
		})
	}
}

// writeScriptPack makes packs/p on disk with a remote-shell-script action
// whose entry_point scripts/run.sh is a symlink to target.
func writeScriptPack(t *testing.T, target func(packDir string) string) (root string) {
	t.Helper()
	root = t.TempDir()
	packDir := filepath.Join(root, "p")
	if err := os.MkdirAll(filepath.Join(packDir, "actions", "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"pack.yaml":                "ref: p\n",
		"actions/s.yaml":           scriptPack("scripts/run.sh"),
		"actions/scripts/inner.sh": "#!/bin/sh\necho inner\n",
	} {
		if err := os.WriteFile(filepath.Join(packDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target(packDir), filepath.Join(packDir, "actions", "scripts", "run.sh")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestEntryPointSymlinkEscapingThePackIsRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.sh")
	if err := os.WriteFile(outside, []byte("#!/bin/sh\ncat /etc/shadow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := writeScriptPack(t, func(string) string { return outside })
	set, err := LoadDir(root)
	var ps rule.Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Field != "entry_point" || !strings.HasSuffix(ps[0].File, filepath.Join("p", "actions", "s.yaml")) ||
		!strings.Contains(ps[0].Reason, "outside the pack") || !strings.Contains(ps[0].Reason, "after following symlinks") {
		t.Fatalf("want one entry_point problem on actions/s.yaml, got %v", err)
	}
	// The runner resolves it again when it builds the command.
	a, _ := set.Action("p.s")
	if _, err := a.ScriptPath(); err == nil {
		t.Fatal("ScriptPath followed the symlink out of the pack")
	}

	inside := writeScriptPack(t, func(packDir string) string { return "inner.sh" })
	set, err = LoadDir(inside)
	if err != nil {
		t.Fatal(err)
	}
	a, _ = set.Action("p.s")
	if got, err := a.ScriptPath(); err != nil || filepath.Base(got) != "inner.sh" {
		t.Fatalf("a symlink inside the pack: %q, %v", got, err)
	}
}
