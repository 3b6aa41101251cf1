package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/statetest"
	"github.com/medic-sre/medic/internal/trigger"
)

// shippedInhibitRules are the inhibit_rules of packs/aws_ec2 as shipped:
// their target matcher metric_name!~"StatusCheckFailed.*" matches nearly
// every alert, so every admission consults them.
func shippedInhibitRules(tb testing.TB) []inhibit.Rule {
	tb.Helper()
	data, err := os.ReadFile("../../packs/aws_ec2/pack.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var p struct {
		InhibitRules []inhibit.Spec `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		tb.Fatal(err)
	}
	rules, err := inhibit.Compile(p.InhibitRules)
	if err != nil || len(rules) == 0 {
		tb.Fatalf("aws_ec2 inhibit rules: %v (%d)", err, len(rules))
	}
	return rules
}

// countingStore counts what a Store serves: every operation (ops), the
// reads (calls and items read), and the scans of the alert partition that
// inhibition and topology must never need.
type countingStore struct {
	state.Store
	gets, queries, itemsRead atomic.Int64
	ops, alertScans          atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, k state.Key) (state.Item, bool, error) {
	it, ok, err := s.Store.Get(ctx, k)
	s.ops.Add(1)
	s.gets.Add(1)
	if ok {
		s.itemsRead.Add(1)
	}
	return it, ok, err
}

func (s *countingStore) Query(ctx context.Context, pk, prefix string) ([]state.Item, error) {
	items, err := s.Store.Query(ctx, pk, prefix)
	s.ops.Add(1)
	s.queries.Add(1)
	s.itemsRead.Add(int64(len(items)))
	if pk == pkAlert {
		s.alertScans.Add(1)
	}
	return items, err
}

func (s *countingStore) Put(ctx context.Context, it state.Item, c state.Condition) (int64, error) {
	s.ops.Add(1)
	return s.Store.Put(ctx, it, c)
}

func (s *countingStore) Incr(ctx context.Context, k state.Key, d int64, exp time.Time) (int64, error) {
	s.ops.Add(1)
	return s.Store.Incr(ctx, k, d, exp)
}

// ec2Alarm is a CloudWatch alarm on one instance's metric.
func ec2Alarm(id, instance, metric, st string, at time.Time) trigger.Trigger {
	return trigger.Trigger{ID: id, Type: trigger.TypeCloudWatchAlarm, Source: "eventbridge", Time: at,
		Payload: map[string]any{"alarm_name": metric + "-" + instance, "state": st, "account": "111122223333",
			"region": "eu-west-1", "metric_name": metric, "instance_id": instance}}
}

// seedKnownAlerts stores n firing alert records directly (one write each,
// so large n stays quick on slow stores); one in ten is a failing status
// check, a source of the aws_ec2 inhibit rule.
func seedKnownAlerts(tb testing.TB, s state.Store, n int, now time.Time) {
	tb.Helper()
	for i := 0; i < n; i++ {
		metric := "disk_used_percent"
		if i%10 == 0 {
			metric = "StatusCheckFailed_Instance"
		}
		a, err := alert.FromTrigger(ec2Alarm("seed", fmt.Sprintf("i-%07d", i), metric, "ALARM", now))
		if err != nil {
			tb.Fatal(err)
		}
		rec := Record{Fingerprint: a.Fingerprint, Labels: a.Labels, Status: alert.Firing, Since: now, FirstSeen: now}
		data, _ := json.Marshal(rec)
		if _, err := s.Put(context.Background(), state.Item{Key: alertKey(a.Fingerprint), Value: data, Counter: 1}, state.Always()); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkMuteAtScale: one new alert (observed and admitted) with the
// shipped aws_ec2 inhibit rules, against n alerts already known. Every
// other new alert is on an instance whose status check fails, so it is
// inhibited; the others are not and join their group. The cost must not
// grow with n: reads/op and items-read/op are the load-independent proof.
func BenchmarkMuteAtScale(b *testing.B) {
	type store struct {
		name  string
		sizes []int
		open  func(b *testing.B, clock *statetest.Clock) state.Store
	}
	stores := []store{
		{"memory", []int{10, 1000, 10000, 100000}, func(b *testing.B, clock *statetest.Clock) state.Store {
			return state.NewMemory(clock.Now)
		}},
		{"local", []int{10, 1000, 10000}, func(b *testing.B, clock *statetest.Clock) state.Store {
			l, err := state.OpenLocal(b.TempDir(), clock.Now)
			if err != nil {
				b.Fatal(err)
			}
			return l
		}},
	}
	rules := shippedInhibitRules(b)
	for _, st := range stores {
		for _, n := range st.sizes {
			b.Run(fmt.Sprintf("%s/known=%d", st.name, n), func(b *testing.B) {
				clock := statetest.NewClock()
				counted := &countingStore{Store: st.open(b, clock)}
				seedKnownAlerts(b, counted, n, clock.Now())
				c := &Consolidator{State: counted, Now: clock.Now, Inhibit: rules}
				cfg := Config{Rule: "linux.free_disk"}
				admit := func(i int) Decision {
					// Even i: an instance with a failing status check
					// (seeded i-0000000 is one); odd: a fresh instance.
					inst := fmt.Sprintf("new-%07d", i)
					if i%2 == 0 {
						inst = "i-0000000"
					}
					obs, err := c.Observe(ctx, ec2Alarm(fmt.Sprintf("bench-%d", i), inst, fmt.Sprintf("mem_%d", i), "ALARM", clock.Now()))
					if err != nil {
						b.Fatal(err)
					}
					d, err := c.Admit(ctx, obs, cfg)
					if err != nil {
						b.Fatal(err)
					}
					return d
				}
				admit(-2) // warm-up: the one-time index build is not timed
				counted.gets.Store(0)
				counted.queries.Store(0)
				counted.itemsRead.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					d := admit(i)
					if inhibited := len(d.Reason) > 9 && d.Reason[:9] == "inhibited"; inhibited != (i%2 == 0) {
						b.Fatalf("alert %d: %q", i, d.Reason)
					}
				}
				b.ReportMetric(float64(counted.gets.Load()+counted.queries.Load())/float64(b.N), "reads/op")
				b.ReportMetric(float64(counted.itemsRead.Load())/float64(b.N), "items-read/op")
			})
		}
	}
}
