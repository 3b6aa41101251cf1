package rule

import (
	"fmt"
	"testing"
)

// Patterns can be rendered from trigger data, so an attacker picks how
// many distinct ones arrive: the compiled-regex cache stays bounded, and a
// pattern evicted from it still matches when it comes back.
func TestRegexCacheIsBounded(t *testing.T) {
	match := regexOp("")
	for i := 0; i < 2*regexCacheSize; i++ {
		if ok, err := match(fmt.Sprintf("host-%d", i), fmt.Sprintf("^host-%d$", i)); err != nil || !ok {
			t.Fatalf("pattern %d: %v %v", i, ok, err)
		}
	}
	if n := regexCache.Len(); n > regexCacheSize {
		t.Fatalf("regex cache holds %d, bound %d", n, regexCacheSize)
	}
	if ok, err := match("host-0", "^host-0$"); err != nil || !ok {
		t.Fatalf("evicted pattern: %v %v", ok, err)
	}
}
