package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](2)
	c.Add("a", 1)
	c.Add("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 { // a is now the most recent
		t.Fatalf("a = %d, %v", v, ok)
	}
	c.Add("c", 3) // evicts b
	if _, ok := c.Get("b"); ok {
		t.Fatal("b kept: the least recently used entry must go")
	}
	for k, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Fatalf("%s = %d, %v", k, v, ok)
		}
	}
	c.Add("a", 10)
	if v, _ := c.Get("a"); v != 10 || c.Len() != 2 {
		t.Fatalf("update: a = %d, len %d", v, c.Len())
	}
}

// Hostile use: many distinct keys from many goroutines never grow it past
// its capacity; a capacity below 1 still holds one entry.
func TestBoundedUnderConcurrentDistinctKeys(t *testing.T) {
	c := New[string, int](64)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				k := fmt.Sprintf("%d-%d", g, i)
				c.Add(k, i)
				c.Get(k)
			}
		}()
	}
	wg.Wait()
	if c.Len() != 64 || len(c.items) != 64 {
		t.Fatalf("len %d (map %d), want 64", c.Len(), len(c.items))
	}
	z := New[int, int](0)
	z.Add(1, 1)
	z.Add(2, 2)
	if z.Len() != 1 {
		t.Fatalf("capacity 0: len %d", z.Len())
	}
}
