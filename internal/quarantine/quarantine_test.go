package quarantine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMoveKeepsTheFileAndSaysWhy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "executions", "run-1.json")
	os.MkdirAll(filepath.Dir(src), 0o700)
	os.WriteFile(src, []byte(`{"id":"run-1","sta`), 0o600)
	a := ForStateDir(dir)
	e, err := a.Move(src, "execution", "unexpected end of JSON input")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatal("the damaged file is still where readers look")
	}
	if data, _ := os.ReadFile(e.File); string(data) != `{"id":"run-1","sta` {
		t.Fatalf("quarantined copy = %q", data)
	}
	list, err := a.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if list[0].Source != src || list[0].Kind != "execution" || !strings.Contains(list[0].Reason, "unexpected end") {
		t.Fatalf("entry = %+v", list[0])
	}
	if a.Moved() != 1 {
		t.Fatalf("counter = %d", a.Moved())
	}
	// Gone already (another reader moved it first): nothing to do.
	if e, err := a.Move(src, "execution", "again"); err != nil || e.File != "" {
		t.Fatalf("second move = %+v, %v", e, err)
	}
}

// A file dropped in by hand, without a note, is still listed.
func TestListShowsFilesWithoutNotes(t *testing.T) {
	a := ForStateDir(t.TempDir())
	os.MkdirAll(a.Dir, 0o700)
	os.WriteFile(filepath.Join(a.Dir, "stray.json"), []byte("x"), 0o600)
	list, err := a.List()
	if err != nil || len(list) != 1 || !strings.Contains(list[0].Reason, "no note") {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

// A hostile file name (newlines, path separators in the base name are
// impossible, but spaces and unicode are) lands inside the area.
func TestMoveHostileNameStaysInside(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a b\n..%2F☃.json")
	os.WriteFile(src, []byte("{"), 0o600)
	a := ForStateDir(dir)
	e, err := a.Move(src, "consolidation", "bad")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(e.File) != a.Dir {
		t.Fatalf("moved to %s, outside %s", e.File, a.Dir)
	}
}

// A temporary file a crash left between write and rename is removed once
// it is clearly stale; a fresh one (a write in progress) is left alone.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale, fresh, record := filepath.Join(dir, ".tmp-1"), filepath.Join(dir, ".tmp-2"), filepath.Join(dir, "run.json")
	for _, p := range []string{stale, fresh, record} {
		os.WriteFile(p, []byte("{"), 0o600)
	}
	old := time.Now().Add(-2 * StaleTempAge)
	os.Chtimes(stale, old, old)
	os.Chtimes(record, old, old)
	if n := RemoveStaleTemps(dir, time.Now()); n != 1 {
		t.Fatalf("removed %d", n)
	}
	for p, want := range map[string]bool{stale: false, fresh: true, record: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", p, err == nil, want)
		}
	}
}
