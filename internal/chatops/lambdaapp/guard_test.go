package lambdaapp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/slack/slackfake"
)

// lastJob is the payload of the latest asynchronous self-invocation.
func (w *wired) lastJob() json.RawMessage {
	w.inv.mu.Lock()
	defer w.inv.mu.Unlock()
	return w.inv.calls[len(w.inv.calls)-1].Payload
}

func (w *wired) startedCount() int {
	w.sfn.mu.Lock()
	defer w.sfn.mu.Unlock()
	return len(w.sfn.started)
}

// ended is what the ingest function does on the execution's status
// change: consolidation releases the run's leases.
func (w *wired) ended(t *testing.T, name string, ok bool) {
	t.Helper()
	w.sfn.mu.Lock()
	w.sfn.status[name] = map[bool]string{true: "SUCCEEDED", false: "FAILED"}[ok]
	w.sfn.mu.Unlock()
	if err := (&dispatch.Consolidator{State: w.store}).Finish(context.Background(), name, ok); err != nil {
		t.Fatal(err)
	}
}

func (w *wired) executions() []string {
	w.sfn.mu.Lock()
	defer w.sfn.mu.Unlock()
	var names []string
	for name := range w.sfn.started {
		names = append(names, name)
	}
	return names
}

func (w *wired) onlyExecution(t *testing.T) string {
	t.Helper()
	w.sfn.mu.Lock()
	defer w.sfn.mu.Unlock()
	if len(w.sfn.started) != 1 {
		t.Fatalf("started %v", w.sfn.started)
	}
	for name := range w.sfn.started {
		return name
	}
	return ""
}

func TestLambdaChatRunRefusedWhileARuleRunHoldsTheTarget(t *testing.T) {
	w := wire(t)
	cons := &dispatch.Consolidator{State: w.store} // the ingest function's, over the same table
	release, d, err := cons.Acquire(context.Background(), dispatch.Config{Rule: "ops.restart_on_alarm"}, "web1")
	if err != nil || !d.Act {
		t.Fatalf("%+v %v", d, err)
	}
	got := w.command(t, w.a, w.b, "restart nginx on web1")
	if !strings.Contains(got, "refused: target busy: web1 is being remediated by ops.restart_on_alarm") || w.startedCount() != 0 {
		t.Fatalf("reply %s, %d started", got, w.startedCount())
	}
	release(true)
	if got := w.command(t, w.a, w.b, "restart nginx on web1"); strings.Contains(got, "refused") || w.startedCount() != 1 {
		t.Fatalf("after the rule run: %s", got)
	}
}

func TestLambdaFourthChatRunIsRateLimited(t *testing.T) {
	w := wire(t)
	ended := map[string]bool{}
	for i := 0; i < 3; i++ {
		w.command(t, w.a, w.b, "restart nginx on web1")
		for _, name := range w.executions() {
			if !ended[name] {
				ended[name] = true
				w.ended(t, name, true)
			}
		}
	}
	got := w.command(t, w.b, w.a, "restart nginx on web1")
	if !strings.Contains(got, "refused: rate limited: 3 runs on this target in 10m0s (limit 3)") || w.startedCount() != 3 {
		t.Fatalf("4th: %s, %d started", got, w.startedCount())
	}
}

func TestLambdaOpenBreakerRefusesChatRun(t *testing.T) {
	w := wire(t)
	ctx := context.Background()
	g := &guard.Guard{State: w.store}
	for i := 0; i < 3; i++ {
		l, v, err := g.Acquire(ctx, "action:ops.restart", "web1", guard.Limits{RatePerTarget: -1})
		if err != nil || !v.OK {
			t.Fatalf("%+v %v", v, err)
		}
		g.Release(ctx, *l, false)
	}
	if got := w.command(t, w.a, w.b, "restart nginx on web1"); !strings.Contains(got, "refused: circuit open until") || w.startedCount() != 0 {
		t.Fatalf("reply %s, %d started", got, w.startedCount())
	}
}

// Lambda retries a failed asynchronous invocation twice with the same
// payload: every attempt names the same execution, so Step Functions
// starts it once, and the run's lease is not refused as its own.
func TestLambdaRetriedJobStartsOneExecution(t *testing.T) {
	w := wire(t)
	ctx := context.Background()
	w.command(t, w.a, w.b, "restart nginx on web1")
	name := w.onlyExecution(t)
	job := w.lastJob()
	for _, app := range []*App{w.a, w.b} {
		if _, err := app.Invoke(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	if w.onlyExecution(t) != name || w.sfn.Calls("StartExecution") != 3 {
		t.Fatalf("retries: %d StartExecution calls", w.sfn.Calls("StartExecution"))
	}
	for _, m := range w.rec.msgs {
		if strings.Contains(m.Text, "refused") || strings.Contains(m.Text, "did not start") {
			t.Fatalf("a retry was refused: %s", m.Text)
		}
	}
	// A retry after the run ended still starts nothing, and gives back
	// the lease it took, so the next command is not refused as busy.
	w.ended(t, name, true)
	if _, err := w.b.Invoke(ctx, job); err != nil {
		t.Fatal(err)
	}
	if w.onlyExecution(t) != name {
		t.Fatal("a late retry started a second run")
	}
	if got := w.command(t, w.a, w.b, "restart nginx on web1"); strings.Contains(got, "refused") || w.startedCount() != 2 {
		t.Fatalf("next command: %s", got)
	}
}

// Anyone allowed to invoke the function can send it a job; without the
// signature of Slack's request it is refused and nothing runs.
func TestLambdaForgedJobIsRefused(t *testing.T) {
	w := wire(t)
	ctx := context.Background()
	w.command(t, w.a, w.b, "status nothing") // a real job, to take apart
	var real chatops.Job
	if err := json.Unmarshal(w.lastJob(), &real); err != nil || real.Signature == "" || real.Timestamp == "" {
		t.Fatalf("the dispatched job carries no signature: %+v %v", real, err)
	}
	forgedBody := strings.Replace(real.Body, "status+nothing", "restart+nginx+on+web1", 1)
	n := len(w.rec.msgs)
	for name, job := range map[string]chatops.Job{
		"unsigned":        {Kind: chatops.JobCommand, Body: forgedBody},
		"signature moved": {Kind: chatops.JobCommand, Body: forgedBody, Timestamp: real.Timestamp, Signature: real.Signature},
		"made up":         {Kind: chatops.JobCommand, Body: forgedBody, Timestamp: real.Timestamp, Signature: "v0=" + strings.Repeat("ab", 32)},
	} {
		payload, _ := json.Marshal(job)
		if _, err := w.b.Invoke(ctx, payload); err == nil || !strings.Contains(err.Error(), "job refused") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if w.startedCount() != 0 || len(w.rec.msgs) != n {
		t.Fatalf("a forged job acted: %d started, %d replies", w.startedCount(), len(w.rec.msgs)-n)
	}
}

// The thread a chat run opens carries the command in its top-level text
// (the notification): escaped, as in its blocks.
func TestLambdaThreadOfAHostileCommandIsEscaped(t *testing.T) {
	w := wire(t)
	ack := w.command(t, w.a, w.b, "restart nginx on "+strings.Join(slackfake.Hostile, " "))
	for _, h := range slackfake.Hostile {
		if strings.Contains(ack, h) {
			t.Errorf("ack carries live %s: %s", h, ack)
		}
	}
	msgs := w.slack.Messages()
	if len(msgs) == 0 || !strings.Contains(msgs[0].Text, "/medic restart nginx on &lt;!channel&gt;") {
		t.Fatalf("no thread: %+v", msgs)
	}
	for i, m := range msgs {
		if live := m.Live(slackfake.Hostile...); len(live) > 0 {
			t.Errorf("message %d carries live %v: %s", i, live, m.Text)
		}
	}
}
