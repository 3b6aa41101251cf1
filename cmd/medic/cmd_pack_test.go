package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// medic pack validate refuses a schema that cannot be right and a script
// that resolves outside its pack, naming the file, line and field.
func TestPackValidateRefusesBadSchemasAndEscapingEntryPoints(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "elsewhere.sh")
	files := map[string]string{
		"p/pack.yaml": "ref: p\n",
		"p/actions/schema.yaml": "name: schema\nrunner_type: workflow\nparameters:\n" +
			"  unit: {type: string, pattern: '[a-'}\n" +
			"  path: {type: string, format: directory}\n" +
			"  n: {type: integer, maximum: 5, default: 6}\n",
		"p/actions/dotdot.yaml":  "name: dotdot\nrunner_type: remote-shell-script\nentry_point: ../../../../etc/hostname\n",
		"p/actions/symlink.yaml": "name: symlink\nrunner_type: remote-shell-script\nentry_point: scripts/run.sh\n",
	}
	for name, body := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(outside, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "p", "actions", "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "p", "actions", "scripts", "run.sh")); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "pack", "validate", root)
	want := []string{
		"p/actions/schema.yaml:4: parameters.unit.pattern: not a valid regular expression",
		`p/actions/schema.yaml:5: parameters.path.format: unknown format "directory" (known: absolute-path,`,
		"p/actions/schema.yaml:6: parameters.n.default: 6 is more than maximum 5",
		`p/actions/dotdot.yaml:3: entry_point: "../../../../etc/hostname" resolves outside the pack`,
		`p/actions/symlink.yaml:3: entry_point: "scripts/run.sh" resolves to ` + outside + `, outside the pack`,
		"5 problem(s)",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

// The shipped packs, with their strict schemas, validate clean.
func TestShippedPacksValidate(t *testing.T) {
	if code, out, _ := run(t, "pack", "validate", "../../packs"); code != 0 || !strings.Contains(out, ": OK") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
