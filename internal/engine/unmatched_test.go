package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// writeCounting counts the writes a Store takes.
type writeCounting struct {
	state.Store
	writes atomic.Int64
}

func (s *writeCounting) Put(ctx context.Context, it state.Item, c state.Condition) (int64, error) {
	s.writes.Add(1)
	return s.Store.Put(ctx, it, c)
}

func (s *writeCounting) Incr(ctx context.Context, k state.Key, d int64, exp time.Time) (int64, error) {
	s.writes.Add(1)
	return s.Store.Incr(ctx, k, d, exp)
}

func (s *writeCounting) Delete(ctx context.Context, k state.Key) error {
	s.writes.Add(1)
	return s.Store.Delete(ctx, k)
}

func alarmOn(id, metric, instance, st string, at time.Time) trigger.Trigger {
	return trigger.Trigger{ID: id, Type: trigger.TypeCloudWatchAlarm, Source: "eventbridge", Time: at, Payload: map[string]any{
		"alarm_name": metric + "-" + instance, "state": st, "metric_name": metric, "instance_id": instance}}
}

// A new firing alert that no rule matches and that inhibits nothing is
// not written at all (a delivery claim and a counter per event were most
// of `medic serve`'s cost in a storm); what a later decision reads still
// is: a resolution, and a firing inhibit source, which then inhibits.
func TestUnmatchedDeliveryWritesOnlyWhatIsRead(t *testing.T) {
	e, st, clock, store := consolidatingEngine(t, 0)
	counted := &writeCounting{Store: store}
	e.Consolidator.State = counted
	e.Consolidator.Inhibit = e.Packs.InhibitRules()
	ctx := context.Background()

	if out := e.Handle(ctx, alarmOn("e1", "NetworkPacketsIn", "i-0aaa", "ALARM", clock.t)); len(out) != 0 {
		t.Fatalf("outcomes %+v", out)
	}
	if n := counted.writes.Load(); n != 0 {
		t.Fatalf("an unmatched new alert took %d writes", n)
	}
	// A resolution nobody matched is recorded: it may close groups, or
	// precede its own firing delivery.
	e.Handle(ctx, alarmOn("e2", "NetworkPacketsOut", "i-0aaa", "OK", clock.t))
	if recs, _ := e.Consolidator.Alerts(ctx); len(recs) != 1 || recs[0].Labels["metric_name"] != "NetworkPacketsOut" {
		t.Fatalf("alerts after an unmatched resolution: %+v", recs)
	}
	// StatusCheckFailed (no rule acts on the plain metric) is the aws_ec2
	// inhibit rule's source: recorded, it mutes the disk alarm on its
	// instance.
	e.Handle(ctx, alarmOn("e3", "StatusCheckFailed", "i-0abc", "ALARM", clock.t))
	out := e.Handle(ctx, diskAlarm("e4", "ALARM"))
	if len(out) != 1 || !strings.Contains(out[0].Held, "inhibited by ") || out[0].Execution != "" {
		t.Fatalf("disk alarm on an instance failing its status check: %+v", out)
	}
	if len(st.started) != 0 {
		t.Fatalf("started %v", st.started)
	}
}
