package template

import (
	"fmt"
	"testing"
)

// Template sources can come from trigger data (a rendered criteria
// pattern): the compiled-template cache keeps the most recent maxCached,
// and keeps serving new sources once full (it stopped caching them at its
// old limit).
func TestTemplateCacheIsBoundedLRU(t *testing.T) {
	for i := 0; i < maxCached+500; i++ {
		src := fmt.Sprintf("{{ %d }}", i)
		if _, err := Render(src, Context{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n > maxCached {
		t.Fatalf("template cache holds %d, bound %d", n, maxCached)
	}
	last := fmt.Sprintf("{{ %d }}", maxCached+499)
	if _, ok := cache.Get(last); !ok {
		t.Fatal("the most recent template is not cached")
	}
}
