package kv

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/quarantine"
)

func TestLocalStoreSetGetListDelete(t *testing.T) {
	s, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get("missing"); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	for k, v := range map[string]string{"app.token": "t", "app.url": "u", "other": "o"} {
		if err := s.Set(k, v, 0); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, _ := s.Get("app.url"); !ok || v != "u" {
		t.Errorf("Get = %q %v", v, ok)
	}
	items, _ := s.List("app.")
	if len(items) != 2 || items[0].Key != "app.token" || items[1].Key != "app.url" {
		t.Errorf("List = %+v", items)
	}
	if err := s.Delete("other"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if err := s.Set("", "x", 0); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("empty key: %v", err)
	}
}

func TestLocalStoreTTL(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenLocal(dir)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	if err := s.Set("lease", "me", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get("lease"); !ok {
		t.Fatal("key gone before its TTL")
	}
	now = now.Add(time.Hour)
	if _, ok, _ := s.Get("lease"); ok {
		t.Error("key still there after its TTL")
	}
	if items, _ := s.List(""); len(items) != 0 {
		t.Errorf("expired key listed: %+v", items)
	}
	if err := s.Set("lease", "me", -time.Second); err == nil {
		t.Error("negative TTL accepted")
	}
}

// Two stores on one directory stand for the CLI and `medic serve`: no write
// may be lost.
func TestLocalStoreConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	a, _ := OpenLocal(dir)
	b, _ := OpenLocal(dir)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if err := s.Set(string(rune('a'+i)), "v", 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	items, err := a.List("")
	if err != nil || len(items) != 20 {
		t.Fatalf("List = %d items, %v; want 20", len(items), err)
	}
}

func TestLocalStoreCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenLocal(dir)
	if err := writeFile(dir+"/"+dataFile, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get("x"); err == nil {
		t.Error("corrupt file not reported")
	}
}

// A store sees writes made through another handle on the same directory
// (the CLI writing while `medic serve` reads), despite its read cache.
func TestLocalStoreSeesOtherWriters(t *testing.T) {
	dir := t.TempDir()
	reader, _ := OpenLocal(dir)
	writer, _ := OpenLocal(dir)
	for i, v := range []string{"one", "two", "six"} { // same size: only the inode tells them apart
		if err := writer.Set("k", v, 0); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := reader.Get("k"); !ok || err != nil || got != v {
			t.Fatalf("write %d: reader got %q %v %v, want %q", i, got, ok, err, v)
		}
	}
}

// With a quarantine, a damaged kv.json is set aside and the datastore
// reads empty (loudly, in the log and `medic doctor`) instead of failing
// every rule that reads a key; new writes work.
func TestLocalStoreQuarantinesCorruptFile(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "kv")
	s, _ := OpenLocal(dir)
	s.Quarantine = quarantine.ForStateDir(state)
	if err := writeFile(filepath.Join(dir, dataFile), `{"a":{"key":"a","val`); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get("a"); ok || err != nil {
		t.Fatalf("get = %v, %v", ok, err)
	}
	if err := s.Set("b", "1", 0); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := s.Get("b"); !ok || v != "1" {
		t.Fatal("store unusable after quarantine")
	}
	list, _ := s.Quarantine.List()
	if len(list) != 1 || list[0].Kind != "kv" {
		t.Fatalf("quarantine = %+v", list)
	}
}
