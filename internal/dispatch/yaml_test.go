package dispatch

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`
group_by: [alertname, InstanceId]
group_wait: 0s
group_interval: 10m
repeat_interval: 12h
target_labels: [InstanceId]
guard:
  lease_ttl: 15m
  rate_per_target: off
  rate_per_rule: 100
  breaker_failures: 2
  breaker_cooldown: 2h
`), "linux.free_disk")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rule != "linux.free_disk" || len(c.GroupBy) != 2 || c.GroupWait != NoWait || c.GroupInterval != 10*time.Minute ||
		c.RepeatInterval != 12*time.Hour || c.TargetLabels[0] != "InstanceId" {
		t.Fatalf("config = %+v", c)
	}
	g := c.WithDefaults().Guard
	if g.LeaseTTL != 15*time.Minute || g.RatePerTarget != -1 || g.RatePerRule != 100 || g.BreakerFailures != 2 ||
		g.BreakerCooldown != 2*time.Hour || g.BreakerRepeats != 6 {
		t.Fatalf("guard = %+v", g)
	}
	if w := c.WithDefaults().GroupWait; w != 0 {
		t.Fatalf("group_wait 0s became %s", w)
	}
	// Empty: defaults; group_by absent means one group per alert; [] one group.
	d, err := ParseConfig(nil, "r")
	if err != nil || d.GroupBy != nil || d.WithDefaults().GroupWait != DefaultGroupWait {
		t.Fatalf("empty = %+v %v", d, err)
	}
	one, _ := ParseConfig([]byte("group_by: []"), "r")
	if one.GroupBy == nil || len(one.GroupBy) != 0 {
		t.Fatalf("group_by [] = %#v", one.GroupBy)
	}
	var node yaml.Node
	yaml.Unmarshal([]byte("group_wait: 1m"), &node)
	if c, err := DecodeConfig(node.Content[0], "r"); err != nil || c.GroupWait != time.Minute {
		t.Fatalf("DecodeConfig = %+v %v", c, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for in, want := range map[string]string{
		"group_wait: soon":           `consolidate.group_wait: "soon" is not a duration`,
		"group_interval: 0s":         "consolidate.group_interval: must be more than 0",
		"repeat_interval: -1h":       "consolidate.repeat_interval: -1h0m0s is negative",
		"guard: {rate_per_rule: 0}":  `consolidate.guard.rate_per_rule: "0": want a positive count or "off"`,
		"guard: {breaker_window: x}": "consolidate.guard.breaker_window",
		"group_by: [..., alertname]": `group_by "..." must be the only entry`,
		"groupby: [a]":               "unknown field groupby",
		"guard: {rate: 1}":           "unknown field rate",
		"group_by: alertname":        "where a list is expected",
	} {
		if _, err := ParseConfig([]byte(in), "r"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"", "group_wait: 0s", "guard: {rate_per_target: off}", "group_by: [...]",
		"group_by: []\nguard:\n  lease_ttl: 1h", "{", "group_wait: [1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig([]byte(s), "r")
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
		c.WithDefaults()
	})
}
