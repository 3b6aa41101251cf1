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

// A rule file's literal regex is compiled once at load and kept however
// many templated patterns pass through the bounded cache.
func TestLiteralRegexesStayCompiled(t *testing.T) {
	r := &Rule{Ref: "p.r", Enabled: true, TriggerType: "x", Action: ActionRef{Ref: "p.a"},
		Criteria: Criteria{{Key: "trigger.host", Operator: "regex", Pattern: "^pinned-[0-9]+$"}}}
	if ps := r.Compile(); len(ps) > 0 {
		t.Fatal(ps)
	}
	match := regexOp("")
	for i := 0; i < 2*regexCacheSize; i++ {
		match("x", fmt.Sprintf("^flood-%d$", i))
	}
	if _, ok := pinnedRegexes.Load(regexKey("", "^pinned-[0-9]+$")); !ok {
		t.Fatal("the rule's literal regex is not kept compiled")
	}
}
