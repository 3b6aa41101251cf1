package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/metrics"
	"github.com/medic-sre/medic/internal/state/dynalite"
	"github.com/medic-sre/medic/internal/state/dynamo"
	"github.com/medic-sre/medic/internal/state/statetest"
)

// db is dynalite: the Lambda's consolidation state goes over DynamoDB's
// real protocol, as in AWS.
var db *dynalite.Server

func TestMain(m *testing.M) { os.Exit(dynalite.Main(m, &db)) }

// consolidating is the ingest Lambda as deployed: its engine keeps
// consolidation state in a DynamoDB table, on a clock the test moves.
func consolidating(t *testing.T) (*Handler, *recordingStarter, *statetest.Clock) {
	t.Helper()
	clock := statetest.NewClock()
	client, table := db.NewTable(t)
	st := &recordingStarter{}
	h, err := New(Settings{PacksDir: "../../packs", PollSeconds: 5}, st, kv.Map{},
		dynamo.New(client, table, clock.Now), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h.engine.Consolidator.Now = clock.Now
	h.engine.Now = clock.Now
	return h, st, clock
}

// cpuAlarm is the sample EventBridge alarm (web-1's CPU, which the linux
// pack's rules act on) as delivery id, in state, at time at.
func cpuAlarm(t *testing.T, id, state string, at time.Time) json.RawMessage {
	t.Helper()
	ev := sample(t, "cloudwatch/eventbridge-alarm-state-change.json")
	ev["id"], ev["time"] = id, at.Format(time.RFC3339)
	detail := ev["detail"].(map[string]any)
	st := detail["state"].(map[string]any)
	st["value"], st["timestamp"] = state, at.Format("2006-01-02T15:04:05.000-0700")
	return marshal(t, ev)
}

// statusEvent is Step Functions' event for execution name ending in status.
func statusEvent(t *testing.T, name, status string) json.RawMessage {
	t.Helper()
	ev := sample(t, "control/stepfunctions-execution-failed.json")
	detail := ev["detail"].(map[string]any)
	detail["name"], detail["status"] = name, status
	return marshal(t, ev)
}

func sample(t *testing.T, name string) map[string]any {
	raw, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func marshal(t *testing.T, v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func handle(t *testing.T, h *Handler, event json.RawMessage) Response {
	t.Helper()
	res, err := h.Handle(context.Background(), event)
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	return res
}

func flushEvent(t *testing.T) json.RawMessage {
	raw, err := os.ReadFile("../../events/control/consolidation-flush.json")
	if err != nil {
		t.Fatal(err)
	}
	if !dispatch.IsFlushEvent(raw) {
		t.Fatalf("events/control/consolidation-flush.json is not dispatch.FlushEvent")
	}
	return raw
}

// The path of an alert in AWS: the alarm is grouped (the linux pack waits
// 30s), a redelivery is recognised, the Scheduler's flush starts each
// rule's action once, and Step Functions' status change frees the target.
func TestAlarmIsGroupedThenFlushedThenFinished(t *testing.T) {
	h, st, clock := consolidating(t)
	first := handle(t, h, cpuAlarm(t, "evt-1", "ALARM", clock.Now()))
	outcomes := first.Triggers[0].Outcomes
	if len(outcomes) == 0 {
		t.Fatal("no rule matched the CPU alarm")
	}
	for _, o := range outcomes {
		if !strings.HasPrefix(o.Held, "grouped into") || o.Execution != "" {
			t.Fatalf("want every rule held for group_wait: %+v", o)
		}
	}
	again := handle(t, h, cpuAlarm(t, "evt-1", "ALARM", clock.Now()))
	if o := again.Triggers[0].Outcomes[0]; !o.Duplicate || !strings.Contains(o.Held, "duplicate delivery") {
		t.Fatalf("redelivery not recognised: %+v", o)
	}
	if res := handle(t, h, flushEvent(t)); len(res.Flushed) != 0 || len(st.started) != 0 {
		t.Fatalf("flushed before group_wait: %+v", res.Flushed)
	}
	clock.Advance(31 * time.Second)
	flushed := handle(t, h, flushEvent(t)).Flushed
	if len(flushed) != len(outcomes) || len(st.started) != len(outcomes) {
		t.Fatalf("want one start per rule (%d), got %d flushes, %d starts: %+v", len(outcomes), len(flushed), len(st.started), flushed)
	}
	if res := handle(t, h, flushEvent(t)); len(res.Flushed) != 0 {
		t.Fatalf("a second flush acted again: %+v", res.Flushed)
	}
	rec := st.started[0]
	if !strings.HasSuffix(rec.Trigger.ID, "evt-1") || !strings.Contains(timeline(rec.Timeline), "act on i-") {
		t.Fatalf("the execution should carry the alert and the guard's grant: %+v", rec)
	}
	// While it runs, the same instance is busy for a new incident of that rule.
	handle(t, h, cpuAlarm(t, "evt-2", "OK", clock.Now()))
	handle(t, h, cpuAlarm(t, "evt-3", "ALARM", clock.Now().Add(time.Second)))
	clock.Advance(31 * time.Second)
	busy := handle(t, h, flushEvent(t)).Flushed
	if len(busy) == 0 || !strings.HasPrefix(busy[0].Held, "target busy") {
		t.Fatalf("want target busy while the first run holds the instance: %+v", busy)
	}
	for _, r := range st.started {
		if res := handle(t, h, statusEvent(t, r.ID, "SUCCEEDED")); res.Finished != r.ID {
			t.Fatalf("status change not applied: %+v", res)
		}
	}
	clock.Advance(6 * time.Minute) // the busy group's next group_interval
	after := handle(t, h, flushEvent(t)).Flushed
	if len(after) == 0 || after[0].Execution == "" {
		t.Fatalf("after the first runs ended, the waiting incident should act: %+v", after)
	}
}

// Three failed fixes open the breaker; the next incident is escalated to a
// human through core.notify instead of acted on.
func TestFailedFixesOpenTheBreakerAndEscalate(t *testing.T) {
	h, st, clock := consolidating(t)
	c := &counter{counts: map[string]int{}}
	h.CountWith(c)
	incident := func(n int) []engine.Outcome {
		at := clock.Now()
		handle(t, h, cpuAlarm(t, "ok-"+string(rune('a'+n)), "OK", at))
		handle(t, h, cpuAlarm(t, "alarm-"+string(rune('a'+n)), "ALARM", at.Add(time.Second)))
		clock.Advance(31 * time.Second)
		return handle(t, h, flushEvent(t)).Flushed
	}
	for n := range 3 {
		for _, o := range incident(n) {
			if o.Execution == "" {
				t.Fatalf("incident %d: %+v", n, o)
			}
			handle(t, h, statusEvent(t, o.Execution, "FAILED"))
		}
		clock.Advance(11 * time.Minute) // outside the rate limit's window
	}
	before := len(st.started)
	escalated := false
	for _, o := range incident(3) {
		if o.Execution != "" {
			t.Fatalf("acted with the breaker open: %+v", o)
		}
		if !strings.Contains(o.Held, "escalate to a human") || o.Escalation == "" {
			t.Fatalf("want an escalation: %+v", o)
		}
		escalated = true
	}
	if !escalated || len(st.started) <= before {
		t.Fatal("no escalation execution started")
	}
	if c.counts[metrics.Escalations] == 0 || c.counts[metrics.RemediationsFailed] != c.counts[metrics.RemediationsStarted] {
		t.Errorf("counts %v", c.counts)
	}
	last := st.started[len(st.started)-1]
	if last.Action != engine.DefaultEscalationAction || last.Params["severity"] != "critical" ||
		!strings.Contains(last.Params["message"].(string), "A human needs to look") {
		t.Fatalf("escalation record: %+v", last)
	}
}

// counter records what the engine counts.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *counter) Add(name string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[name] += n
}

// The Lambda emits the metrics the stack's dashboard and alarms read, as
// EMF lines; here the counts are checked on the breaker scenario.
func TestMetricsCountAlertsRemediationsAndEscalations(t *testing.T) {
	h, _, clock := consolidating(t)
	c := &counter{counts: map[string]int{}}
	h.CountWith(c)
	handle(t, h, cpuAlarm(t, "a-1", "ALARM", clock.Now()))
	handle(t, h, cpuAlarm(t, "a-1", "ALARM", clock.Now())) // redelivery
	clock.Advance(31 * time.Second)
	started := handle(t, h, flushEvent(t)).Flushed
	for _, o := range started {
		handle(t, h, statusEvent(t, o.Execution, "FAILED"))
	}
	want := map[string]int{metrics.AlertsReceived: 2, metrics.AlertsDeduplicated: 1,
		metrics.RemediationsStarted: len(started), metrics.RemediationsFailed: len(started)}
	for name, n := range want {
		if c.counts[name] != n {
			t.Errorf("%s = %d, want %d (all: %v)", name, c.counts[name], n, c.counts)
		}
	}
	if len(started) == 0 || c.counts[metrics.RemediationsSucceeded] != 0 || c.counts[metrics.Escalations] != 0 {
		t.Errorf("counts %v", c.counts)
	}
}

func TestStatusChangeEvents(t *testing.T) {
	h, _, _ := consolidating(t)
	for name, want := range map[string]string{"execution-succeeded": "linux-free_disk_on_alarm-26e87361656795ec6da8",
		"execution-failed": "linux-free_disk_on_alarm-26e87361656795ec6da8", "execution-timed-out": "linux-free_disk_on_alarm-26e87361656795ec6da8",
		"execution-running": ""} {
		raw, err := os.ReadFile("../../events/control/stepfunctions-" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if res := handle(t, h, raw); res.Finished != want || len(res.Triggers) != 0 {
			t.Errorf("%s: %+v", name, res)
		}
	}
	// A status change without a name is refused, not retried.
	bad := statusEvent(t, "", "FAILED")
	if res, err := h.Handle(context.Background(), bad); err != nil || res.Finished != "" {
		t.Fatalf("malformed status change: %+v %v", res, err)
	}
}

func timeline(steps any) string {
	b, _ := json.Marshal(steps)
	return string(b)
}
