package flap

import (
	"testing"
	"time"
)

func TestHysteresis(t *testing.T) {
	c := Config{Window: time.Hour, MaxChanges: 10, High: 50, Low: 25}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h History
	now := t0
	// Four quick changes: 4 × ~1.2 / 10 = 48% < 50: not yet.
	for i := 0; i < 4; i++ {
		now = now.Add(time.Second)
		h.Record(c, now, true, now)
	}
	if h.Flapping {
		t.Fatalf("flapping at %.0f%%", c.Percent(h.Changes, now))
	}
	now = now.Add(time.Second)
	if pct := h.Record(c, now, true, now); !h.Flapping || pct < 50 {
		t.Fatalf("fifth change: flapping=%v pct=%.1f", h.Flapping, pct)
	}
	// 40 minutes later the weights have decayed below 50% but not below
	// 25%: still flapping (hysteresis).
	now = now.Add(40 * time.Minute)
	if pct := h.Record(c, now, false, now); !h.Flapping || pct >= 50 || pct < 25 {
		t.Fatalf("in the band: flapping=%v pct=%.1f", h.Flapping, pct)
	}
	// Past the window: no changes left, flapping stops.
	now = now.Add(30 * time.Minute)
	if pct := h.Record(c, now, false, now); h.Flapping || pct != 0 || len(h.Changes) != 0 {
		t.Fatalf("after the window: flapping=%v pct=%.1f changes=%d", h.Flapping, pct, len(h.Changes))
	}
}

func TestPercentWeightsAndCap(t *testing.T) {
	c := Config{Window: time.Hour, MaxChanges: 2}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if p := c.Percent([]time.Time{now}, now); p < 59.999 || p > 60.001 {
		t.Errorf("newest change = %v%%, want 60", p)
	}
	if p := c.Percent([]time.Time{now.Add(-time.Hour + time.Nanosecond)}, now); p < 39.9 || p > 40.001 {
		t.Errorf("oldest change = %v%%, want ~40", p)
	}
	if p := c.Percent([]time.Time{now, now, now, now}, now); p != 100 {
		t.Errorf("capped = %v", p)
	}
	if err := (Config{High: 20, Low: 30}).Validate(); err == nil {
		t.Error("low above high accepted")
	}
	if err := (Config{}).Validate(); err != nil {
		t.Error(err)
	}
}
