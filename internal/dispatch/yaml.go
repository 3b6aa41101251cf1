package dispatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/yamlerr"
)

// yamlConfig is the YAML form of Config, as a rule's or pack's
// `consolidate:` block:
//
//	consolidate:
//	  group_by: [alertname, InstanceId]   # omit: one group per alert; []: one group
//	  group_wait: 30s                     # 0s: act on the first alert at once
//	  group_interval: 5m
//	  repeat_interval: 4h
//	  target_labels: [InstanceId]
//	  guard:
//	    lease_ttl: 30m
//	    rate_per_target: 3                # a positive count, or "off"
//	    rate_per_rule: 30
//	    rate_window: 10m
//	    breaker_failures: 3
//	    breaker_repeats: 6
//	    breaker_window: 1h
//	    breaker_cooldown: 1h
type yamlConfig struct {
	GroupBy        *[]string  `yaml:"group_by"`
	GroupWait      *string    `yaml:"group_wait"`
	GroupInterval  *string    `yaml:"group_interval"`
	RepeatInterval *string    `yaml:"repeat_interval"`
	TargetLabels   []string   `yaml:"target_labels"`
	Guard          *yamlGuard `yaml:"guard"`
}

type yamlGuard struct {
	LeaseTTL        *string `yaml:"lease_ttl"`
	RatePerTarget   *string `yaml:"rate_per_target"`
	RatePerRule     *string `yaml:"rate_per_rule"`
	RateWindow      *string `yaml:"rate_window"`
	BreakerFailures *string `yaml:"breaker_failures"`
	BreakerRepeats  *string `yaml:"breaker_repeats"`
	BreakerWindow   *string `yaml:"breaker_window"`
	BreakerCooldown *string `yaml:"breaker_cooldown"`
}

// ParseConfig reads a `consolidate:` block (its YAML content, not the key)
// for rule. Unknown keys and bad values are errors naming the field;
// empty input gives the defaults.
func ParseConfig(data []byte, rule string) (Config, error) {
	var y yamlConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, yamlerr.Clean(err)
	}
	return y.config(rule)
}

// DecodeConfig is ParseConfig over an already parsed YAML node.
func DecodeConfig(node *yaml.Node, rule string) (Config, error) {
	if node == nil {
		return Config{Rule: rule}, nil
	}
	data, err := yaml.Marshal(node)
	if err != nil {
		return Config{}, fmt.Errorf("consolidate: %w", err)
	}
	return ParseConfig(data, rule)
}

func (y yamlConfig) config(rule string) (Config, error) {
	c := Config{Rule: rule, TargetLabels: y.TargetLabels}
	if y.GroupBy != nil {
		c.GroupBy = append([]string{}, *y.GroupBy...)
	}
	var err error
	if c.GroupWait, err = duration("group_wait", y.GroupWait); err != nil {
		return c, err
	}
	if y.GroupWait != nil && c.GroupWait == 0 {
		c.GroupWait = NoWait
	}
	if c.GroupInterval, err = positiveDuration("group_interval", y.GroupInterval); err != nil {
		return c, err
	}
	if c.RepeatInterval, err = positiveDuration("repeat_interval", y.RepeatInterval); err != nil {
		return c, err
	}
	if y.Guard != nil {
		if err := y.Guard.apply(&c); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

func (g yamlGuard) apply(c *Config) error {
	l := &c.Guard
	for _, d := range []struct {
		name string
		in   *string
		out  *time.Duration
	}{{"lease_ttl", g.LeaseTTL, &l.LeaseTTL}, {"rate_window", g.RateWindow, &l.RateWindow},
		{"breaker_window", g.BreakerWindow, &l.BreakerWindow}, {"breaker_cooldown", g.BreakerCooldown, &l.BreakerCooldown}} {
		v, err := positiveDuration("guard."+d.name, d.in)
		if err != nil {
			return err
		}
		*d.out = v
	}
	for _, n := range []struct {
		name string
		in   *string
		out  *int
	}{{"rate_per_target", g.RatePerTarget, &l.RatePerTarget}, {"rate_per_rule", g.RatePerRule, &l.RatePerRule},
		{"breaker_failures", g.BreakerFailures, &l.BreakerFailures}, {"breaker_repeats", g.BreakerRepeats, &l.BreakerRepeats}} {
		v, err := count("guard."+n.name, n.in)
		if err != nil {
			return err
		}
		*n.out = v
	}
	return nil
}

func duration(field string, s *string) (time.Duration, error) {
	if s == nil {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(*s))
	if err != nil {
		return 0, fmt.Errorf("consolidate.%s: %q is not a duration like 30s, 5m or 4h", field, *s)
	}
	if d < 0 {
		return 0, fmt.Errorf("consolidate.%s: %s is negative", field, d)
	}
	return d, nil
}

func positiveDuration(field string, s *string) (time.Duration, error) {
	d, err := duration(field, s)
	if err == nil && s != nil && d == 0 {
		return 0, fmt.Errorf("consolidate.%s: must be more than 0", field)
	}
	return d, err
}

// count reads a positive count or "off" (a disabled check, -1).
func count(field string, s *string) (int, error) {
	if s == nil {
		return 0, nil
	}
	v := strings.TrimSpace(*s)
	if v == "off" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("consolidate.%s: %q: want a positive count or \"off\"", field, *s)
	}
	return n, nil
}
