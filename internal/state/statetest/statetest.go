// Package statetest is the conformance suite every state.Store passes: the
// map, the local files and DynamoDB answer the same way.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/state"
)

// Clock is a settable clock for expiry tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Factory opens an empty store whose expiry decisions use clock.Now.
type Factory func(t *testing.T, clock *Clock) state.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Factory) {
	t.Run("GetPutVersions", func(t *testing.T) { getPut(t, open) })
	t.Run("Conditions", func(t *testing.T) { conditions(t, open) })
	t.Run("Expiry", func(t *testing.T) { expiry(t, open) })
	t.Run("Query", func(t *testing.T) { query(t, open) })
	t.Run("Incr", func(t *testing.T) { incr(t, open) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { concurrentUpdate(t, open) })
	t.Run("BadKeys", func(t *testing.T) { badKeys(t, open) })
}

var ctx = context.Background()

func key(sk string) state.Key { return state.Key{PK: "test", SK: sk} }

func mustPut(t *testing.T, s state.Store, it state.Item, c state.Condition) int64 {
	t.Helper()
	v, err := s.Put(ctx, it, c)
	if err != nil {
		t.Fatalf("put %s: %v", it.Key, err)
	}
	return v
}

func getPut(t *testing.T, open Factory) {
	s := open(t, NewClock())
	if _, ok, err := s.Get(ctx, key("a")); err != nil || ok {
		t.Fatalf("get absent = %v, %v; want not found", ok, err)
	}
	v1 := mustPut(t, s, state.Item{Key: key("a"), Value: []byte(`{"x":1}`), Counter: 7}, state.Always())
	v2 := mustPut(t, s, state.Item{Key: key("a"), Value: []byte("binary\x00"), Counter: 8}, state.Always())
	if v1 != 1 || v2 != 2 {
		t.Errorf("versions = %d, %d; want 1, 2", v1, v2)
	}
	it, ok, err := s.Get(ctx, key("a"))
	if err != nil || !ok || string(it.Value) != "binary\x00" || it.Counter != 8 || it.Version != 2 || it.Key != key("a") {
		t.Fatalf("get = %+v, %v, %v", it, ok, err)
	}
	if err := s.Delete(ctx, key("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key("a")); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	if _, ok, _ := s.Get(ctx, key("a")); ok {
		t.Fatal("deleted item still there")
	}
}

func conditions(t *testing.T, open Factory) {
	s := open(t, NewClock())
	mustPut(t, s, state.Item{Key: key("c"), Value: []byte(`1`)}, state.IfAbsent())
	if _, err := s.Put(ctx, state.Item{Key: key("c"), Value: []byte(`2`)}, state.IfAbsent()); !errors.Is(err, state.ErrConditionFailed) {
		t.Fatalf("second IfAbsent: err = %v, want ErrConditionFailed", err)
	}
	if _, err := s.Put(ctx, state.Item{Key: key("c"), Value: []byte(`2`)}, state.IfVersion(5)); !errors.Is(err, state.ErrConditionFailed) {
		t.Fatalf("wrong version: err = %v, want ErrConditionFailed", err)
	}
	if v := mustPut(t, s, state.Item{Key: key("c"), Value: []byte(`3`)}, state.IfVersion(1)); v != 2 {
		t.Fatalf("version after CAS = %d, want 2", v)
	}
	if _, err := s.Put(ctx, state.Item{Key: key("nope"), Value: []byte(`1`)}, state.IfVersion(1)); !errors.Is(err, state.ErrConditionFailed) {
		t.Fatalf("IfVersion on absent: err = %v, want ErrConditionFailed", err)
	}
	it, _, _ := s.Get(ctx, key("c"))
	if string(it.Value) != "3" {
		t.Fatalf("value = %s, want 3", it.Value)
	}
}

func expiry(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock)
	exp := clock.Now().Add(time.Minute)
	mustPut(t, s, state.Item{Key: key("e"), Value: []byte(`1`), ExpiresAt: exp}, state.IfAbsent())
	if it, ok, _ := s.Get(ctx, key("e")); !ok || !it.ExpiresAt.Equal(exp) {
		t.Fatalf("live item: ok=%v expires=%v want %v", ok, it.ExpiresAt, exp)
	}
	clock.Advance(time.Minute)
	if _, ok, _ := s.Get(ctx, key("e")); ok {
		t.Fatal("item visible at its expiry time")
	}
	if items, _ := s.Query(ctx, "test", ""); len(items) != 0 {
		t.Fatalf("query returned expired items: %+v", items)
	}
	// An expired item is absent for conditions too: a lease past its TTL
	// can be taken over.
	mustPut(t, s, state.Item{Key: key("e"), Value: []byte(`2`)}, state.IfAbsent())
	it, ok, _ := s.Get(ctx, key("e"))
	if !ok || string(it.Value) != "2" || !it.ExpiresAt.IsZero() {
		t.Fatalf("after re-create: %+v ok=%v", it, ok)
	}
}

func query(t *testing.T, open Factory) {
	s := open(t, NewClock())
	for _, sk := range []string{"b#2", "a#1", "b#1", "b", "c#1"} {
		mustPut(t, s, state.Item{Key: key(sk), Value: []byte(`"` + sk + `"`)}, state.Always())
	}
	mustPut(t, s, state.Item{Key: state.Key{PK: "other", SK: "b#9"}, Value: []byte(`1`)}, state.Always())
	items, err := s.Query(ctx, "test", "b#")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Key.SK)
	}
	if fmt.Sprint(got) != "[b#1 b#2]" {
		t.Fatalf("query b# = %v, want [b#1 b#2]", got)
	}
	all, _ := s.Query(ctx, "test", "")
	if len(all) != 5 {
		t.Fatalf("query all = %d items, want 5", len(all))
	}
	none, err := s.Query(ctx, "empty-partition", "")
	if err != nil || len(none) != 0 {
		t.Fatalf("query of empty pk = %v, %v", none, err)
	}
}

func incr(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock)
	exp := clock.Now().Add(time.Hour)
	for i, want := range []int64{1, 3, 6} {
		n, err := s.Incr(ctx, key("n"), int64(i+1), exp)
		if err != nil || n != want {
			t.Fatalf("incr #%d = %d, %v; want %d", i, n, err, want)
		}
	}
	// Incr keeps the value Put stored.
	it, _, _ := s.Get(ctx, key("n"))
	it.Value = []byte(`"kept"`)
	mustPut(t, s, it, state.IfVersion(it.Version))
	if n, _ := s.Incr(ctx, key("n"), 1, exp); n != 7 {
		t.Fatalf("incr after put = %d, want 7", n)
	}
	if it, _, _ := s.Get(ctx, key("n")); string(it.Value) != `"kept"` {
		t.Fatalf("value after incr = %q", it.Value)
	}
	clock.Advance(time.Hour)
	if n, _ := s.Incr(ctx, key("n"), 1, clock.Now().Add(time.Hour)); n != 1 {
		t.Fatalf("incr of an expired counter = %d, want a fresh 1", n)
	}
	if it, _, _ := s.Get(ctx, key("n")); len(it.Value) != 0 {
		t.Fatalf("expired counter kept its value %q", it.Value)
	}
}

// concurrentUpdate: many writers of one item through state.Update and Incr
// lose nothing.
func concurrentUpdate(t *testing.T, open Factory) {
	s := open(t, NewClock())
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := state.Update(ctx, s, key("u"), func(it *state.Item, ok bool) (bool, error) {
					n := 0
					if ok {
						fmt.Sscan(string(it.Value), &n)
					}
					it.Value = []byte(fmt.Sprint(n + 1))
					return true, nil
				})
				if err == nil {
					_, err = s.Incr(ctx, key("i"), 1, time.Time{})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	it, _, _ := s.Get(ctx, key("u"))
	if string(it.Value) != fmt.Sprint(workers*each) {
		t.Errorf("optimistic updates: value = %s, want %d", it.Value, workers*each)
	}
	if it, _, _ := s.Get(ctx, key("i")); it.Counter != workers*each {
		t.Errorf("incr: counter = %d, want %d", it.Counter, workers*each)
	}
}

func badKeys(t *testing.T, open Factory) {
	s := open(t, NewClock())
	long := make([]byte, state.MaxKeyLen+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, k := range []state.Key{{PK: "", SK: "a"}, {PK: "a", SK: ""}, {PK: "a", SK: string(long)}} {
		if _, err := s.Put(ctx, state.Item{Key: k}, state.Always()); err == nil {
			t.Errorf("put %q: no error", k)
		}
		if _, _, err := s.Get(ctx, k); err == nil {
			t.Errorf("get %q: no error", k)
		}
	}
	// Awkward but valid keys round-trip.
	for _, sk := range []string{"../../etc/passwd", ".lock", "a/b c%2F", "ünï", string(long[:state.MaxKeyLen])} {
		mustPut(t, s, state.Item{Key: key(sk), Value: []byte(`1`)}, state.Always())
		if it, ok, err := s.Get(ctx, key(sk)); err != nil || !ok || it.Key.SK != sk {
			t.Errorf("round trip of %q: %+v %v %v", sk, it.Key, ok, err)
		}
	}
	if items, _ := s.Query(ctx, "test", ".."); len(items) != 1 {
		t.Errorf("query '..' = %d items, want 1", len(items))
	}
}
