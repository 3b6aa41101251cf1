package apitoken

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureCreatesOnceAndKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(Path(dir))
	if err != nil || info.Mode().Perm() != 0o600 || len(first) != 64 || strings.Trim(first, "0123456789abcdef") != "" {
		t.Fatalf("token %q, file %v %v", first, info, err)
	}
	again, err := Ensure(dir)
	if err != nil || again != first {
		t.Fatalf("second Ensure: %q %v", again, err)
	}
	if _, err := Ensure(""); err == nil {
		t.Fatal("Ensure without a state directory must refuse")
	}
	if other, _ := Ensure(t.TempDir()); other == first {
		t.Fatal("two state directories got the same token")
	}
}

// A token file that does not prove anything is refused with the file and
// the reason named: readable by others, not a regular file, empty, short,
// huge, or holding spaces.
func TestReadRefusesUnsafeFiles(t *testing.T) {
	good := strings.Repeat("ab", 32)
	cases := map[string]struct {
		setup func(dir string)
		want  string
	}{
		"world readable": {func(d string) { os.WriteFile(Path(d), []byte(good), 0o644); os.Chmod(Path(d), 0o644) }, "chmod 600"},
		"group readable": {func(d string) { os.WriteFile(Path(d), []byte(good), 0o640); os.Chmod(Path(d), 0o640) }, "readable by others"},
		"symlink": {func(d string) {
			os.WriteFile(filepath.Join(d, "elsewhere"), []byte(good), 0o600)
			os.Symlink(filepath.Join(d, "elsewhere"), Path(d))
		}, "regular file"},
		"directory": {func(d string) { os.Mkdir(Path(d), 0o700) }, "regular file"},
		"empty":     {func(d string) { os.WriteFile(Path(d), nil, 0o600) }, "at least"},
		"short":     {func(d string) { os.WriteFile(Path(d), []byte("secret"), 0o600) }, "at least"},
		"huge":      {func(d string) { os.WriteFile(Path(d), []byte(strings.Repeat("a", 1<<20)), 0o600) }, "is not an API token"},
		"spaces":    {func(d string) { os.WriteFile(Path(d), []byte(good+" "+good), 0o600) }, "spaces"},
		"missing":   {func(string) {}, "MEDIC_API_TOKEN"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(dir)
			_, err := Read(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
			if name != "missing" && name != "directory" && name != "symlink" {
				if _, err := Ensure(dir); err == nil {
					t.Fatal("Ensure accepted the unsafe file")
				}
			}
		})
	}
}

func TestForClientPrefersTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	fromFile, _ := Ensure(dir)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvVar {
				return v
			}
			return ""
		}
	}
	if got, err := ForClient(env(""), dir); err != nil || got != fromFile {
		t.Fatalf("no env: %q %v", got, err)
	}
	override := strings.Repeat("cd", 32)
	if got, err := ForClient(env(" "+override+"\n"), dir); err != nil || got != override {
		t.Fatalf("env: %q %v", got, err)
	}
	for _, bad := range []string{"short", strings.Repeat("a", 5000), strings.Repeat("a", 40) + "\x00" + strings.Repeat("a", 40)} {
		if _, err := ForClient(env(bad), dir); err == nil || !strings.Contains(err.Error(), EnvVar) {
			t.Errorf("env %.20q: %v", bad, err)
		}
	}
}

func TestEqual(t *testing.T) {
	tok := strings.Repeat("ab", 32)
	if !Equal(tok, tok) || Equal(tok[:63], tok) || Equal(tok+"a", tok) || Equal("", tok) || Equal("", "") {
		t.Fatal("Equal is wrong")
	}
}
