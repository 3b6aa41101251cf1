package state_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
