package dispatch

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/statetest"
	"github.com/medic-sre/medic/internal/trigger"
)

// storm is 10,000 deliveries of alarm events for 50 distinct alerts
// (instances), arriving concurrently; one delivery in 20 is an
// at-least-once redelivery of an earlier one.
type storm struct {
	n           int
	events      []trigger.Trigger
	perAlert    map[string]int64 // instance -> unique deliveries
	redelivered int
}

const (
	stormEvents  = 10000
	stormAlerts  = 50
	stormWorkers = 32
)

func newStorm(now time.Time, n int) storm {
	s := storm{n: n, perAlert: map[string]int64{}}
	for i := 0; i < n; i++ {
		if i%20 == 19 {
			s.events = append(s.events, s.events[i-10]) // same ID: a redelivery
			s.redelivered++
			continue
		}
		inst := fmt.Sprintf("i-%04d", i%stormAlerts)
		s.perAlert[inst]++
		s.events = append(s.events, trigger.Trigger{ID: fmt.Sprintf("evt-%05d", i), Type: trigger.TypeCloudWatchAlarm,
			Source: "eventbridge", Time: now, Payload: map[string]any{"alarm_name": "disk-full", "state": "ALARM",
				"account": "111122223333", "region": "eu-west-1", "dimensions": map[string]any{"InstanceId": inst}}})
	}
	return s
}

type stormResult struct {
	acts, duplicates, grouped int64
	flushes                   int
}

// run feeds the storm through Observe+Admit from stormWorkers goroutines,
// then (when cfg waits) lets group_wait pass and runs Due from 4 callers
// at once.
func (s storm) run(tb testing.TB, c *Consolidator, clock *statetest.Clock, cfg Config) stormResult {
	var res stormResult
	var wg sync.WaitGroup
	next := int64(-1)
	for w := 0; w < stormWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(len(s.events)) {
					return
				}
				obs, err := c.Observe(ctx, s.events[i])
				if err != nil {
					tb.Error(err)
					return
				}
				d, err := c.Admit(ctx, obs, cfg)
				if err != nil {
					tb.Error(err)
					return
				}
				switch {
				case d.Act:
					atomic.AddInt64(&res.acts, 1)
				case obs.Duplicate:
					atomic.AddInt64(&res.duplicates, 1)
				default:
					atomic.AddInt64(&res.grouped, 1)
				}
			}
		}()
	}
	wg.Wait()
	clock.Advance(cfg.WithDefaults().GroupWait)
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fl, err := c.Due(ctx)
			if err != nil {
				tb.Error(err)
			}
			mu.Lock()
			for _, f := range fl {
				if f.Act {
					res.flushes++
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

func (s storm) check(t *testing.T, c *Consolidator, res stormResult, wantActs, wantFlushes int) {
	t.Helper()
	if res.acts != int64(wantActs) || res.flushes != wantFlushes {
		t.Errorf("workflow starts: %d from Admit, %d from Due; want %d and %d", res.acts, res.flushes, wantActs, wantFlushes)
	}
	if res.duplicates != int64(s.redelivered) {
		t.Errorf("duplicates = %d, want %d", res.duplicates, s.redelivered)
	}
	recs, err := c.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != stormAlerts {
		t.Fatalf("%d alerts recorded, want %d", len(recs), stormAlerts)
	}
	var total int64
	for _, r := range recs {
		total += r.Count
		if want := s.perAlert[r.Labels["InstanceId"]]; r.Count != want {
			t.Errorf("alert %s counted %d times, want %d", r.Labels["InstanceId"], r.Count, want)
		}
	}
	if total != int64(s.n-s.redelivered) {
		t.Errorf("total count %d, want %d", total, s.n-s.redelivered)
	}
}

func stormStores(t testing.TB) map[string]func(*statetest.Clock) state.Store {
	return map[string]func(*statetest.Clock) state.Store{
		"memory": func(c *statetest.Clock) state.Store { return state.NewMemory(c.Now) },
		"local": func(c *statetest.Clock) state.Store {
			s, err := state.OpenLocal(t.TempDir(), c.Now)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

// TestStorm: exactly one workflow start per distinct alert, no lost or
// double-counted delivery, whether groups wait (started by Due) or not
// (started by the first Admit).
func TestStorm(t *testing.T) {
	for name, open := range stormStores(t) {
		for _, wait := range []time.Duration{DefaultGroupWait, NoWait} {
			// The file store pays a disk flush per write (ext4 flushes a
			// file replaced by rename): 1,000 events prove its locking
			// under the same concurrency in CI time; the benchmark runs
			// the full storm on it.
			n := stormEvents
			if name == "local" {
				n = 1000
			}
			t.Run(fmt.Sprintf("%s/group_wait=%v", name, wait), func(t *testing.T) {
				clock := statetest.NewClock()
				c := &Consolidator{State: open(clock), Now: clock.Now}
				s := newStorm(clock.Now(), n)
				start := time.Now()
				res := s.run(t, c, clock, Config{Rule: "linux.free_disk", GroupWait: wait, Guard: stormLimits})
				t.Logf("%d events in %s", n, time.Since(start))
				if wait == NoWait {
					s.check(t, c, res, stormAlerts, 0)
				} else {
					s.check(t, c, res, 0, stormAlerts)
				}
			})
		}
	}
}

func BenchmarkStorm(b *testing.B) {
	for name, open := range stormStores(b) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				clock := statetest.NewClock()
				c := &Consolidator{State: open(clock), Now: clock.Now}
				s := newStorm(clock.Now(), stormEvents)
				s.run(b, c, clock, Config{Rule: "linux.free_disk", Guard: stormLimits})
			}
			b.ReportMetric(float64(stormEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// stormLimits let every one of the 50 instances be remediated once; the
// default rate_per_rule (30 per 10 minutes) would stop the last 20, as
// TestStormDefaultRuleRateLimit shows.
var stormLimits = guard.Limits{RatePerRule: stormAlerts}
