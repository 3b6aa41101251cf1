// Package dispatch is consolidation: between a normalised trigger and the
// start of a remediation it removes duplicates, mutes silenced, inhibited
// and flapping alerts, groups alerts with Alertmanager's timers, and asks
// the guard (one run per target, rate limits, circuit breaker) before
// anything acts. The engine calls Observe once per trigger, Admit once per
// matching rule, Due on a timer, and Release when a run ends.
package dispatch

import (
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/guard"
)

// AllLabels as the only group_by entry groups by every label: each alert
// is its own group, as Alertmanager's `group_by: ['...']`.
const AllLabels = "..."

// Config is the consolidation of one rule (or pack). The lead maps YAML
// onto it; zero fields take the defaults.
type Config struct {
	// Rule is the rule's ref; groups, rate limits and breakers are per rule.
	Rule string `json:"rule"`
	// GroupBy names the labels whose values make a group. nil means
	// ["..."] (one group per alert: a remediation acts on one target);
	// an empty non-nil list puts all the rule's alerts into one group, as
	// an empty group_by does in Alertmanager.
	GroupBy []string `json:"group_by"`
	// GroupWait delays the first action of a new group to collect its
	// alerts and let an inhibiting alert arrive (default 30s; use
	// NoWait to act on the first alert at once).
	GroupWait time.Duration `json:"group_wait"`
	// GroupInterval is the wait before acting on alerts added to a group
	// that has already acted (default 5m).
	GroupInterval time.Duration `json:"group_interval"`
	// RepeatInterval is the wait before acting again on a group that has
	// not changed but still fires (default 4h).
	RepeatInterval time.Duration `json:"repeat_interval"`
	// TargetLabels are tried in order for the target a remediation acts on
	// (default instance_id, InstanceId, instance, host); the group key
	// when none is present.
	TargetLabels []string `json:"target_labels,omitempty"`
	// Guard limits runs of this rule.
	Guard guard.Limits `json:"guard"`
}

// NoWait as GroupWait acts on a new group's first alert immediately.
const NoWait = -1

// Defaults, as in Alertmanager.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// DefaultTargetLabels name the instance an alert is about.
var DefaultTargetLabels = []string{"instance_id", "InstanceId", "instance", "host"}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.GroupBy == nil {
		c.GroupBy = []string{AllLabels}
	}
	switch {
	case c.GroupWait == NoWait:
		c.GroupWait = 0
	case c.GroupWait == 0:
		c.GroupWait = DefaultGroupWait
	}
	if c.GroupInterval == 0 {
		c.GroupInterval = DefaultGroupInterval
	}
	if c.RepeatInterval == 0 {
		c.RepeatInterval = DefaultRepeatInterval
	}
	if len(c.TargetLabels) == 0 {
		c.TargetLabels = DefaultTargetLabels
	}
	c.Guard = c.Guard.WithDefaults()
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Rule == "":
		return fmt.Errorf("consolidation: rule is required")
	case c.GroupWait < 0 && c.GroupWait != NoWait:
		return fmt.Errorf("consolidation of %s: group_wait %s is negative", c.Rule, c.GroupWait)
	case c.GroupInterval < 0:
		return fmt.Errorf("consolidation of %s: group_interval %s is negative", c.Rule, c.GroupInterval)
	case c.RepeatInterval < 0:
		return fmt.Errorf("consolidation of %s: repeat_interval %s is negative", c.Rule, c.RepeatInterval)
	}
	for _, l := range c.GroupBy {
		if l == AllLabels && len(c.GroupBy) > 1 {
			return fmt.Errorf("consolidation of %s: group_by %q must be the only entry", c.Rule, AllLabels)
		}
		if l == "" {
			return fmt.Errorf("consolidation of %s: group_by has an empty label name", c.Rule)
		}
	}
	return nil
}
