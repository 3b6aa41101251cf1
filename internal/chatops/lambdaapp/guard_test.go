package lambdaapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

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
// starts it once, and the run's lease is not refused as its own. A job
// done is marked, so the same payload sent again does nothing at all.
func TestLambdaRetriedJobStartsOneExecution(t *testing.T) {
	w := wire(t)
	ctx := context.Background()
	job := w.dispatchOnly(t, "restart nginx on web1")
	w.rec.failures = 2 // the answer fails twice: the job errs after starting the run
	for i, app := range []*App{w.b, w.a, w.b} {
		_, err := app.Invoke(ctx, job)
		if (i < 2) != (err != nil) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	name := w.onlyExecution(t)
	if w.sfn.Calls("StartExecution") != 3 || len(w.rec.msgs) != 1 || strings.Contains(w.rec.msgs[0].Text, "refused") {
		t.Fatalf("retries: %d StartExecution calls, answers %+v", w.sfn.Calls("StartExecution"), w.rec.msgs)
	}
	// The same payload again, once done: nothing is asked of Step Functions
	// or answered.
	if _, err := w.a.Invoke(ctx, job); err != nil || w.sfn.Calls("StartExecution") != 3 || len(w.rec.msgs) != 1 {
		t.Fatalf("a done job ran again: %v, %d calls", err, w.sfn.Calls("StartExecution"))
	}

	// A retry that comes after the run ended starts nothing either, and
	// gives back the lease it took, so the next command is not refused.
	job2 := w.dispatchOnly(t, "restart app on web2")
	w.rec.failures = 1
	if _, err := w.a.Invoke(ctx, job2); err == nil {
		t.Fatal("want the failed answer to fail the job")
	}
	var second string
	for _, n := range w.executions() {
		if n != name {
			second = n
		}
	}
	w.ended(t, second, true)
	if _, err := w.b.Invoke(ctx, job2); err != nil {
		t.Fatal(err)
	}
	if len(w.executions()) != 2 {
		t.Fatalf("a late retry started another run: %v", w.executions())
	}
	if got := w.command(t, w.a, w.b, "restart app on web2"); strings.Contains(got, "refused") || len(w.executions()) != 3 {
		t.Fatalf("next command: %s", got)
	}
}

// dispatchOnly sends a signed command to instance a and returns the job it
// dispatched, without running it.
func (w *wired) dispatchOnly(t *testing.T, text string) json.RawMessage {
	t.Helper()
	body := url.Values{"command": {"/medic"}, "text": {text}, "user_id": {"U1"}, "channel_id": {"C1"}, "team_id": {"T1"},
		"response_url": {"https://hooks.slack.test/x"}, "trigger_id": {fmt.Sprint(time.Now().UnixNano())}}.Encode()
	out, err := w.a.Invoke(context.Background(), urlEvent(body, true))
	if err != nil || out.(events.LambdaFunctionURLResponse).StatusCode != 200 {
		t.Fatalf("%q: %+v %v", text, out, err)
	}
	return w.lastJob()
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
