package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// The storm through the whole engine with the real packs: 10,000 disk
// alarm deliveries for 50 instances from 32 goroutines, one in 20 a
// redelivery. The linux pack caps a rule at 30 runs per 10 minutes, so
// exactly 30 remediations start at once and 20 are deferred; after the
// window, the flush starts exactly those 20; nothing else ever starts.
func TestStormStartsOneRemediationPerInstance(t *testing.T) {
	e, st, clock, _ := consolidatingEngine(t, 0)
	e.Consolidator.Inhibit = e.Packs.InhibitRules() // as served: aws_ec2's rule targets every disk alarm
	ctx := context.Background()
	const events, instances = 10000, 50
	r := feedStorm(ctx, e, stormDeliveries(clock.t, events, instances))
	started, duplicates, limited, failures := r.started, r.duplicates, r.limited, r.failures
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	const perRule = 30 // packs/linux/pack.yaml: rate_per_rule default 30 per 10m
	if started != perRule || len(st.started) != perRule || limited != instances-perRule {
		t.Fatalf("started %d (starter saw %d), %d rate limited; want %d and %d", started, len(st.started), limited, perRule, instances-perRule)
	}
	if duplicates != events/20 {
		t.Fatalf("%d duplicates reported, want the %d redeliveries", duplicates, events/20)
	}
	clock.t = clock.t.Add(11 * time.Minute)
	later, err := e.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range later {
		if o.Execution == "" {
			t.Fatalf("after the window every deferred group acts: %+v", o)
		}
	}
	if len(later) != instances-perRule || len(st.started) != instances {
		t.Fatalf("after the window: %d flushed, %d started in all; want %d and %d", len(later), len(st.started), instances-perRule, instances)
	}
	clock.t = clock.t.Add(6 * time.Minute)
	if again, err := e.Flush(ctx); err != nil || len(again) != 0 || len(st.started) != instances {
		t.Fatalf("a later flush acted again: %+v %v", again, err)
	}
}

// stormDeliveries are n disk alarm deliveries for the given number of
// instances; one in 20 is a redelivery of an earlier one.
func stormDeliveries(at time.Time, n, instances int) []trigger.Trigger {
	deliveries := make([]trigger.Trigger, 0, n)
	for i := range n {
		if i%20 == 19 {
			deliveries = append(deliveries, deliveries[i-10])
			continue
		}
		alarm := diskAlarm(fmt.Sprintf("evt-%05d", i), "ALARM")
		alarm.Time = at
		alarm.Payload["instance_id"] = fmt.Sprintf("i-%04d", i%instances)
		deliveries = append(deliveries, alarm)
	}
	return deliveries
}

type stormCounts struct {
	started, duplicates, limited int
	failures                     []string
}

// feedStorm hands the deliveries to Engine.Handle from 32 goroutines.
func feedStorm(ctx context.Context, e *Engine, deliveries []trigger.Trigger) stormCounts {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		res stormCounts
	)
	next := make(chan trigger.Trigger)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tr := range next {
				for _, o := range e.Handle(ctx, tr) {
					mu.Lock()
					switch {
					case o.Error != "":
						res.failures = append(res.failures, o.Error)
					case o.Execution != "":
						res.started++
					case o.Duplicate:
						res.duplicates++
					case strings.HasPrefix(o.Held, "rate limited"):
						res.limited++
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, d := range deliveries {
		next <- d
	}
	close(next)
	wg.Wait()
	return res
}

// BenchmarkEngineStorm: the whole path of 10,000 deliveries (rules of the
// real packs with their inhibit rules, consolidation on the in-memory
// store, starts recorded).
func BenchmarkEngineStorm(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		e, _, clock, _ := consolidatingEngine(b, 0)
		e.Consolidator.Inhibit = e.Packs.InhibitRules()
		deliveries := stormDeliveries(clock.t, 10000, 50)
		b.StartTimer()
		if r := feedStorm(context.Background(), e, deliveries); len(r.failures) > 0 {
			b.Fatal(r.failures[0])
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "events/s")
}
