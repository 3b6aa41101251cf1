// Package flap detects alerts that keep changing state, Nagios-style: the
// state changes in a recent window give a percentage, recent changes
// weighing more than old ones; an alert starts flapping above a high
// threshold and stops only below a lower one (hysteresis), so it does not
// flap in and out of "flapping". Remediating a flapping alert would chase
// its own tail; the consolidator holds it instead.
package flap

import (
	"fmt"
	"time"
)

// Config tunes detection. Zero fields take the defaults.
type Config struct {
	// Window is how far back state changes count (default 1h).
	Window time.Duration `json:"window,omitempty"`
	// MaxChanges is the number of changes that make 100% (default 20,
	// as Nagios's 21 samples give 20 possible changes).
	MaxChanges int `json:"max_changes,omitempty"`
	// High starts flapping at or above it; Low stops it below it
	// (defaults 50 and 25, percent).
	High float64 `json:"high,omitempty"`
	Low  float64 `json:"low,omitempty"`
}

// DefaultConfig are the defaults.
var DefaultConfig = Config{Window: time.Hour, MaxChanges: 20, High: 50, Low: 25}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Window <= 0 {
		c.Window = DefaultConfig.Window
	}
	if c.MaxChanges <= 0 {
		c.MaxChanges = DefaultConfig.MaxChanges
	}
	if c.High <= 0 {
		c.High = DefaultConfig.High
	}
	if c.Low <= 0 {
		c.Low = DefaultConfig.Low
	}
	return c
}

// Validate rejects thresholds without a hysteresis band.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.Low >= c.High || c.High > 100 {
		return fmt.Errorf("flap: want 0 < low < high <= 100, got low %v high %v", c.Low, c.High)
	}
	return nil
}

// History is what is kept per alert.
type History struct {
	Changes  []time.Time `json:"changes,omitempty"`
	Flapping bool        `json:"flapping,omitempty"`
}

// Percent is the weighted state-change percentage at now: each change in
// the window weighs from 0.8 (oldest) to 1.2 (newest), as in Nagios.
func (c Config) Percent(changes []time.Time, now time.Time) float64 {
	c = c.WithDefaults()
	var sum float64
	for _, at := range changes {
		age := now.Sub(at)
		if age < 0 {
			age = 0
		}
		if age >= c.Window {
			continue
		}
		sum += 0.8 + 0.4*(1-float64(age)/float64(c.Window))
	}
	pct := sum / float64(c.MaxChanges) * 100
	if pct > 100 {
		pct = 100
	}
	return pct
}

// Record adds a state change at `at` (when changed) and re-evaluates the
// flapping flag at now. It reports the percentage; the caller persists h.
func (h *History) Record(c Config, at time.Time, changed bool, now time.Time) float64 {
	c = c.WithDefaults()
	if changed {
		h.Changes = append(h.Changes, at)
	}
	kept := h.Changes[:0]
	for _, t := range h.Changes {
		if now.Sub(t) < c.Window {
			kept = append(kept, t)
		}
	}
	h.Changes = kept
	pct := c.Percent(h.Changes, now)
	switch {
	case !h.Flapping && pct >= c.High:
		h.Flapping = true
	case h.Flapping && pct < c.Low:
		h.Flapping = false
	}
	return pct
}
