package pack

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/dispatch"
)

func consolidationPacks(packYAML string, rules map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"p/pack.yaml":      {Data: []byte("ref: p\nversion: 1.0.0\n" + packYAML)},
		"p/actions/a.yaml": {Data: []byte("name: a\nrunner_type: workflow\n")},
	}
	for name, body := range rules {
		fsys["p/rules/"+name+".yaml"] = &fstest.MapFile{Data: []byte("name: " + name +
			"\nenabled: true\ntrigger: {type: prometheus.alert}\naction: {ref: p.a}\n" + body)}
	}
	return fsys
}

func TestRuleConsolidationOverridesThePackKeyByKey(t *testing.T) {
	fsys := consolidationPacks("consolidate:\n  group_wait: 10s\n  guard: {rate_per_target: 2, breaker_failures: 5}\n",
		map[string]string{
			"own":     "consolidate:\n  group_wait: 0s\n  group_by: [alertname]\n  guard: {rate_per_target: off}\n",
			"inherit": "",
		})
	s, err := LoadFS(fsys, "packs")
	if err != nil {
		t.Fatal(err)
	}
	own := s.Consolidation("p.own")
	if own.Rule != "p.own" || own.GroupWait != dispatch.NoWait || len(own.GroupBy) != 1 || own.GroupBy[0] != "alertname" {
		t.Errorf("rule block not applied: %+v", own)
	}
	if own.Guard.BreakerFailures != 5 {
		t.Errorf("guard keys the rule does not set come from the pack: %+v", own.Guard)
	}
	if own.Guard.RatePerTarget >= 0 {
		t.Errorf("rate_per_target: off from the rule wins over the pack's 2: %+v", own.Guard)
	}
	inherit := s.Consolidation("p.inherit")
	if inherit.Rule != "p.inherit" || inherit.GroupWait != 10*time.Second || inherit.Guard.RatePerTarget != 2 {
		t.Errorf("pack block is every rule's default: %+v", inherit)
	}
	if d := s.Consolidation("q.none"); d.Rule != "q.none" || d.GroupWait != 0 {
		t.Errorf("no block: zero config for the defaults, got %+v", d)
	}
}

func TestBadConsolidationNamesFileAndField(t *testing.T) {
	cases := map[string]struct {
		pack, rule, want string
	}{
		"rule typo":      {"", "consolidate:\n  group_wiat: 5s\n", "packs/p/rules/r.yaml:5: consolidate: unknown field group_wiat"},
		"rule duration":  {"", "consolidate: {group_wait: soon}\n", "group_wait"},
		"pack duration":  {"consolidate: {repeat_interval: -1h}\n", "", "pack.yaml"},
		"inhibit field":  {"inhibit_rules:\n  - {source_matchers: ['a=b'], target_matcher: ['c=d']}\n", "", "pack.yaml:4: inhibit_rules[0]: unknown field target_matcher"},
		"inhibit regex":  {"inhibit_rules:\n  - {source_matchers: ['a=~(('], target_matchers: ['c=d']}\n", "", "source_matchers"},
		"inhibit shape":  {"inhibit_rules: {a: b}\n", "", "inhibit_rules: must be a list"},
		"inhibit target": {"inhibit_rules:\n  - {source_matchers: ['a=b']}\n", "", "both required"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFS(consolidationPacks(c.pack, map[string]string{"r": c.rule}), "packs")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a problem containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestInhibitRulesFromPackYAML(t *testing.T) {
	fsys := consolidationPacks("inhibit_rules:\n  - name: host down\n    source_matchers: ['alertname=host-down']\n"+
		"    target_matchers: ['alertname=~\"disk.*\"']\n    equal: [instance_id]\n", nil)
	s, err := LoadFS(fsys, "packs")
	if err != nil {
		t.Fatal(err)
	}
	rules := s.InhibitRules()
	if len(rules) != 1 || rules[0].Name != "host down" {
		t.Fatalf("rules %+v", rules)
	}
	down := alert.Alert{Fingerprint: "a", Labels: map[string]string{"alertname": "host-down", "instance_id": "i-1"}, Status: alert.Firing}
	disk := alert.Alert{Fingerprint: "b", Labels: map[string]string{"alertname": "disk-full", "instance_id": "i-1"}, Status: alert.Firing}
	if !rules[0].Target.Matches(disk.Labels) || !rules[0].Source.Matches(down.Labels) {
		t.Fatalf("matchers did not compile as written: %+v", rules[0])
	}
}
