package inhibit

import (
	"strings"
	"testing"
)

// A rule's ID changes with any part of its definition that decides which
// alerts are its sources, so an edited rule never reads an old index.
func TestRuleIDFollowsTheDefinition(t *testing.T) {
	base := Spec{Name: "r", SourceMatchers: []string{"alertname=down"}, TargetMatchers: []string{"alertname=svc"}, Equal: []string{"host"}}
	id := func(s Spec) string {
		rules, err := Compile([]Spec{s})
		if err != nil {
			t.Fatal(err)
		}
		return rules[0].ID()
	}
	seen := map[string]string{id(base): "base"}
	variants := map[string]Spec{}
	v := base
	v.Name = "r2"
	variants["name"] = v
	v = base
	v.SourceMatchers = []string{"alertname=up"}
	variants["source"] = v
	v = base
	v.Equal = []string{"host", "region"}
	variants["equal"] = v
	v = base
	v.Equal = []string{"ho", "st"} // the same characters, split: length-prefixed
	variants["equal split"] = v
	for what, s := range variants {
		got := id(s)
		if prev, dup := seen[got]; dup {
			t.Fatalf("%s: same ID as %s", what, prev)
		}
		seen[got] = what
	}
}

// EqualKey is fixed-length whatever the (attacker-written) values, and
// moving characters from one label's value to the next changes it.
func TestEqualKeyIsBoundedAndUnambiguous(t *testing.T) {
	rules, _ := Compile([]Spec{{SourceMatchers: []string{"a=b"}, TargetMatchers: []string{"c=d"}, Equal: []string{"x", "y"}}})
	r := rules[0]
	huge := r.EqualKey(map[string]string{"x": strings.Repeat("#\x00/", 10000)})
	if len(huge) != 32 {
		t.Fatalf("key length %d", len(huge))
	}
	if r.EqualKey(map[string]string{"x": "a", "y": "bc"}) == r.EqualKey(map[string]string{"x": "ab", "y": "c"}) {
		t.Fatal("shifted values share a key")
	}
	if r.EqualKey(map[string]string{"x": "a"}) != r.EqualKey(map[string]string{"x": "a", "y": ""}) {
		t.Fatal("an absent label must equal an empty one, as in Alertmanager")
	}
}
