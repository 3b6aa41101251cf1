package state_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/statetest"
)

func TestMemoryConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T, c *statetest.Clock) state.Store { return state.NewMemory(c.Now) })
}

func TestLocalConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T, c *statetest.Clock) state.Store {
		s, err := state.OpenLocal(t.TempDir(), c.Now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Two handles on one directory (the CLI and `medic serve`) see each
// other's writes, and conditions hold across them.
func TestLocalSharedBetweenHandles(t *testing.T) {
	dir := t.TempDir()
	a, _ := state.OpenLocal(dir, nil)
	b, _ := state.OpenLocal(dir, nil)
	ctx := context.Background()
	k := state.Key{PK: "silence", SK: "s1"}
	if _, err := a.Put(ctx, state.Item{Key: k, Value: []byte(`{"id":"s1"}`)}, state.IfAbsent()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, state.Item{Key: k}, state.IfAbsent()); err == nil {
		t.Fatal("second handle overwrote an existing item")
	}
	it, ok, err := b.Get(ctx, k)
	if err != nil || !ok || string(it.Value) != `{"id":"s1"}` {
		t.Fatalf("second handle reads %+v %v %v", it, ok, err)
	}
}

func TestLocalSweepAndCorruption(t *testing.T) {
	dir := t.TempDir()
	clock := statetest.NewClock()
	s, _ := state.OpenLocal(dir, clock.Now)
	ctx := context.Background()
	k := state.Key{PK: "p", SK: "gone"}
	odd := state.Key{PK: "a/b c", SK: "gone"} // a partition whose directory name is escaped
	for _, key := range []state.Key{k, odd} {
		s.Put(ctx, state.Item{Key: key, ExpiresAt: clock.Now().Add(time.Second)}, state.Always())
	}
	s.Put(ctx, state.Item{Key: state.Key{PK: "a/b c", SK: "kept"}}, state.Always())
	clock.Advance(time.Second)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p", "gone.json")); !os.IsNotExist(err) {
		t.Fatalf("expired file not swept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a%2Fb%20c", "gone.json")); !os.IsNotExist(err) {
		t.Fatalf("expired file in an escaped partition not swept: %v", err)
	}
	if items, _ := s.Query(ctx, "a/b c", ""); len(items) != 1 || items[0].Key.SK != "kept" {
		t.Fatalf("live item lost by sweep: %+v", items)
	}
	os.WriteFile(filepath.Join(dir, "p", "bad.json"), []byte("{not json"), 0o600)
	_, _, err := s.Get(ctx, state.Key{PK: "p", SK: "bad"})
	if err == nil || !strings.Contains(err.Error(), "bad.json is corrupt") {
		t.Fatalf("corrupt file: err = %v", err)
	}
}

// A damaged item file (a crash mid-edit, a bad hand edit) is set aside and
// reads as absent; every other key keeps working, and start-up (the
// sweep) does not fail on it. Without a quarantine it stays an error.
func TestLocalQuarantinesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	q := quarantine.ForStateDir(dir)
	s, err := state.OpenStateDirWith(dir, q)
	if err != nil {
		t.Fatal(err)
	}
	good := state.Key{PK: "group", SK: "g1"}
	bad := state.Key{PK: "group", SK: "g2"}
	for _, k := range []state.Key{good, bad} {
		if _, err := s.Put(ctx, state.Item{Key: k, Value: []byte(`{"ok":true}`)}, state.Always()); err != nil {
			t.Fatal(err)
		}
	}
	badFile := filepath.Join(dir, state.LocalSubdir, "group", "g2.json")
	for name, content := range map[string]string{"truncated": `{"pk":"group","sk":"g2","val`, "empty": ``, "no key": `{"value":{}}`} {
		os.WriteFile(badFile, []byte(content), 0o600)
		plain, _ := state.OpenLocal(filepath.Join(dir, state.LocalSubdir), nil)
		if _, _, err := plain.Get(ctx, bad); err == nil {
			t.Fatalf("%s: without a quarantine a damaged file must be an error", name)
		}
		if _, err := state.OpenStateDirWith(dir, q); err != nil {
			t.Fatalf("%s: start-up failed on one damaged file: %v", name, err)
		}
		items, err := s.Query(ctx, "group", "")
		if err != nil || len(items) != 1 || items[0].Key != good {
			t.Fatalf("%s: query = %+v, %v", name, items, err)
		}
		if _, ok, err := s.Get(ctx, bad); ok || err != nil {
			t.Fatalf("%s: damaged key should read absent: %v %v", name, ok, err)
		}
		// The key is usable again.
		if _, err := s.Put(ctx, state.Item{Key: bad, Value: []byte(`{}`)}, state.IfAbsent()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	list, _ := q.List()
	if len(list) != 3 {
		t.Fatalf("quarantine holds %d files, want 3: %+v", len(list), list)
	}
	// A value its owner cannot decode is set aside on request.
	if err := s.SetAside(ctx, good, "not a group"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, good); ok {
		t.Fatal("set-aside item still readable")
	}
	if list, _ := q.List(); len(list) != 4 || !strings.Contains(list[3].Reason, "not a group") {
		t.Fatalf("quarantine = %+v", list)
	}
}
