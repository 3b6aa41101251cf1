package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/secret"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/state"
)

func record() *execution.Record {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &execution.Record{
		ID: "linux-free_disk_on_alarm-abc", StateMachine: "diagnose-remediate-verify",
		Rule: "linux.free_disk_on_alarm", Action: "linux.free_disk",
		Params: map[string]any{"target": "web1", "path": "/var/tmp"}, Status: execution.Running, Started: t0,
	}
	rec.Add(t0, "alert", "HighDiskUsage", "aws.cloudwatch.alarm from eventbridge: ALARM — <!channel> disk > 90%")
	rec.Add(t0, "rule", rec.Rule, "matched")
	rec.Add(t0, "action", rec.Action, "")
	return rec
}

func TestOneThreadPerExecutionUpdatedInPlace(t *testing.T) {
	fake := slackfake.New(t)
	n := &Notifier{API: fake.Client(), Channel: "C1"}
	rec := record()
	n.OnStart(rec)
	n.OnStart(rec) // a redelivered start must not open a second thread
	for _, s := range []execution.Step{
		{Time: rec.Started, Kind: "state", Name: "Diagnose"},
		{Time: rec.Started, Kind: "task", Name: "Diagnose", Detail: "Success (exit 0)\n/dev/sda1 95%"},
		{Time: rec.Started, Kind: "state", Name: "WaitDiagnose"},
		{Time: rec.Started, Kind: "state", Name: "PollDiagnose"},
	} {
		rec.Timeline = append(rec.Timeline, s)
		n.OnStep(rec, s)
	}
	rec.Status, rec.Stopped = execution.Succeeded, rec.Started.Add(3*time.Second)
	out := execution.Step{Time: rec.Stopped, Kind: "outcome", Name: "SUCCEEDED", Detail: "workflow succeeded"}
	n.OnStep(rec, out)
	n.OnDone(rec)

	msgs := fake.Messages()
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Method)
	}
	want := "chat.postMessage chat.postMessage chat.update chat.postMessage chat.update chat.update"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("calls = %v, want %s", kinds, want)
	}
	parent := msgs[0]
	if parent.Channel != "C1" || parent.ThreadTS != "" || !strings.Contains(parent.Blocks, "HighDiskUsage") || !strings.Contains(parent.Blocks, "linux.free_disk_on_alarm") {
		t.Fatalf("parent = %+v", parent)
	}
	if strings.Contains(parent.Blocks, "<!channel>") || !strings.Contains(parent.Blocks, "&lt;!channel&gt;") {
		t.Fatalf("alert detail not escaped: %s", parent.Blocks)
	}
	for _, m := range msgs[1:] {
		if m.Method == "chat.postMessage" && m.ThreadTS != parent.TS {
			t.Errorf("reply outside the thread: %+v", m)
		}
		if m.Method == "chat.update" && m.TS != parent.TS {
			t.Errorf("update of another message: %+v", m)
		}
	}
	if !strings.Contains(msgs[1].Blocks, "/dev/sda1 95%") {
		t.Errorf("task reply lacks output: %s", msgs[1].Blocks)
	}
	if !strings.Contains(msgs[2].Blocks, "now in *Diagnose*") {
		t.Errorf("update does not show the current state: %s", msgs[2].Blocks)
	}
	last := msgs[len(msgs)-1]
	if !strings.Contains(last.Blocks, "SUCCEEDED") || !strings.Contains(last.Text, "SUCCEEDED") {
		t.Errorf("final update lacks the outcome: %+v", last)
	}
	if th, ok := n.Thread(rec.ID); !ok || th.TS != parent.TS {
		t.Errorf("Thread = %+v %v", th, ok)
	}
}

func TestNotifyEscalationRepliesInThread(t *testing.T) {
	fake := slackfake.New(t)
	n := &Notifier{API: fake.Client(), Channel: "C1"}
	rec := record()
	n.OnStart(rec)
	out, err := n.Notify(context.Background(), map[string]any{"kind": "escalation", "execution": rec.ID, "target": "web1", "attempts": 2.0})
	if err != nil || out.(map[string]any)["delivered"] != true {
		t.Fatalf("Notify = %v, %v", out, err)
	}
	msgs := fake.Messages()
	if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS || !strings.Contains(msgs[1].Blocks, "Escalation") {
		t.Fatalf("messages = %+v", msgs)
	}
	// An unknown execution still reaches the channel.
	n.Notify(context.Background(), map[string]any{"kind": "info"})
	if msgs := fake.Messages(); len(msgs) != 3 || msgs[2].ThreadTS != "" || msgs[2].Channel != "C1" {
		t.Fatalf("messages = %+v", msgs)
	}
}

func TestSlackFailureIsLoggedNotFatal(t *testing.T) {
	fake := slackfake.New(t)
	n := &Notifier{API: fake.Client(), Channel: ""} // the fake refuses an empty channel
	rec := record()
	n.OnStart(rec)
	n.OnStep(rec, execution.Step{Kind: "task", Name: "X"})
	n.OnDone(rec)
	if _, ok := n.Thread(rec.ID); ok {
		t.Fatal("thread remembered after a failed post")
	}
}

func TestTruncateKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 10)
	got := Truncate(s, 5)
	if got != "éé…" {
		t.Fatalf("Truncate = %q", got)
	}
	if Truncate("abc", 5) != "abc" {
		t.Fatal("short string changed")
	}
}

// The notify function and the chatops function are different processes
// sharing the table: the thread one opens is the thread the other replies
// in, and the result of an ended run is posted there.
func TestStateThreadsAreSharedBetweenNotifiers(t *testing.T) {
	fake := slackfake.New(t)
	store := state.NewMemory(nil)
	notifyFn := &Notifier{API: fake.Client(), Channel: "C1", Threads: StateThreads{State: store}}
	chatopsFn := &Notifier{API: fake.Client(), Channel: "C1", Threads: StateThreads{State: store},
		Result: func(rec *execution.Record) (string, bool) { return "freed " + rec.Params["path"].(string), true }}
	rec := record()
	out, err := notifyFn.Notify(context.Background(), map[string]any{"kind": "started", "execution": rec.ID})
	if err != nil || out.(map[string]any)["thread"] != "opened" {
		t.Fatalf("Notify = %v, %v", out, err)
	}
	parent := fake.Messages()[0]
	if th, ok := chatopsFn.Thread(rec.ID); !ok || th.TS != parent.TS || th.Channel != "C1" {
		t.Fatalf("other notifier sees %+v %v", th, ok)
	}
	rec.Status, rec.Stopped = execution.Succeeded, rec.Started.Add(time.Second)
	chatopsFn.OnStart(rec) // the thread exists: nothing new is posted
	chatopsFn.OnDone(rec)
	msgs := fake.Messages()
	if len(msgs) != 3 || msgs[1].Method != "chat.update" || msgs[1].TS != parent.TS {
		t.Fatalf("messages = %+v", msgs)
	}
	if msgs[2].ThreadTS != parent.TS || !strings.Contains(msgs[2].Text, "freed /var/tmp") {
		t.Fatalf("result reply = %+v", msgs[2])
	}
	it, ok, _ := store.Get(context.Background(), state.Key{PK: ThreadPartition, SK: rec.ID})
	if !ok || it.ExpiresAt.IsZero() {
		t.Fatalf("stored thread = %+v %v (want an expiry)", it, ok)
	}
	store.Put(context.Background(), state.Item{Key: state.Key{PK: ThreadPartition, SK: "bad"}, Value: []byte("{")}, state.Always())
	if _, _, err := (StateThreads{State: store}).Get(context.Background(), "bad"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt: %v", err)
	}
}

// Secrets never reach Slack: a known secret in command output, in an
// alert field and in the execution record is masked in every post and
// update, also when it holds characters Slack escaping or JSON would
// change (so it is scrubbed before either).
func TestKnownSecretsAreScrubbedFromEveryPost(t *testing.T) {
	plain, special := "xoxb-notify-scrub-test-1234", `p"a\ss<w>o&rd-notify`
	secret.Add(plain, special)
	fake := slackfake.New(t)
	n := &Notifier{API: fake.Client(), Channel: "C1"}
	rec := record()
	rec.Add(rec.Started, "alert", "Leak", "alarm says "+plain)
	n.OnStart(rec)
	n.OnStep(rec, execution.Step{Time: rec.Started, Kind: "task", Name: "Diagnose", Detail: "stdout: token=" + plain + " pw=" + special})
	_, err := n.Notify(context.Background(), map[string]any{"kind": "command_output", "execution": rec.ID,
		"output": map[string]any{"StandardOutputContent": "export TOKEN=" + plain + "\n" + special}, "target": special})
	if err != nil {
		t.Fatal(err)
	}
	n.OnDone(rec)
	msgs := fake.Messages()
	if len(msgs) < 4 {
		t.Fatalf("messages = %+v", msgs)
	}
	masked := false
	for _, m := range msgs {
		all := m.Text + m.Blocks
		for _, leak := range []string{plain, special, "p&quot;a", `p\"a\\ss`, "s&lt;w&gt;o&amp;rd", "ss<w>o&rd"} {
			if strings.Contains(all, leak) {
				t.Errorf("%s to %s leaks %q: %s", m.Method, m.Channel, leak, all)
			}
		}
		masked = masked || strings.Contains(all, secret.Mask)
	}
	if !masked {
		t.Errorf("no message shows %s: %+v", secret.Mask, msgs)
	}
}
