package lambdaapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/awsfake"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/ingest"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/dynalite"
	"github.com/medic-sre/medic/internal/state/dynamo"
	"github.com/medic-sre/medic/internal/trigger"
)

var db *dynalite.Server

func TestMain(m *testing.M) { os.Exit(dynalite.Main(m, &db)) }

const machineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:medic-diagnose-remediate-verify"

// fakeStepFunctions keeps the executions StartExecution created and the
// task answers, over the JSON 1.0 protocol.
type fakeStepFunctions struct {
	*awsfake.Server
	mu      sync.Mutex
	started map[string]map[string]any // name → StartExecution input
	status  map[string]string
	tasks   []map[string]any
}

func newFakeSFN(t *testing.T) *fakeStepFunctions {
	f := &fakeStepFunctions{Server: awsfake.New(t, awsfake.StepFunctions), started: map[string]map[string]any{}, status: map[string]string{}}
	t0 := float64(time.Now().Add(-time.Minute).Unix())
	arnOf := func(name string) string {
		return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
	}
	f.Handle("StartExecution", func(in map[string]any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		name := in["name"].(string)
		// As Step Functions: a name starts once. The same name and input
		// while it runs is answered with the execution already started;
		// otherwise the name is taken.
		if prev, ok := f.started[name]; ok {
			if f.status[name] != "RUNNING" || prev["input"] != in["input"] {
				return nil, &awsfake.Error{Status: 400, Type: "ExecutionAlreadyExists", Message: "Execution Already Exists: '" + arnOf(name) + "'"}
			}
			return map[string]any{"executionArn": arnOf(name), "startDate": t0}, nil
		}
		f.started[name], f.status[name] = in, "RUNNING"
		return map[string]any{"executionArn": arnOf(name), "startDate": t0}, nil
	})
	f.Handle("ListExecutions", func(in map[string]any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var out []map[string]any
		for name, st := range f.status {
			out = append(out, map[string]any{"executionArn": arnOf(name), "stateMachineArn": machineARN, "name": name, "status": st, "startDate": t0})
		}
		return map[string]any{"executions": out}, nil
	})
	f.Handle("DescribeExecution", func(in map[string]any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		arn := in["executionArn"].(string)
		name := arn[strings.LastIndexByte(arn, ':')+1:]
		start, ok := f.started[name]
		if !ok {
			return nil, &awsfake.Error{Status: 400, Type: "ExecutionDoesNotExist", Message: "Execution Does Not Exist"}
		}
		out := map[string]any{"executionArn": arn, "stateMachineArn": machineARN, "name": name, "status": f.status[name],
			"startDate": t0, "input": start["input"]}
		if f.status[name] != "RUNNING" {
			out["stopDate"], out["output"] = t0+30, `{"verify":"active (running)"}`
		}
		return out, nil
	})
	f.Handle("GetExecutionHistory", func(map[string]any) (any, error) {
		return map[string]any{"events": []map[string]any{{"id": 2, "type": "TaskStateEntered", "timestamp": t0, "stateEnteredEventDetails": map[string]any{"name": "Remediate"}}}}, nil
	})
	f.Handle("SendTaskSuccess", func(in map[string]any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tasks = append(f.tasks, in)
		return map[string]any{}, nil
	})
	return f
}

type wired struct {
	a, b     *App
	store    state.Store
	sfn      *fakeStepFunctions
	slack    *slackfake.Fake
	notifyFn *notify.Notifier
	inv      *fakeInvoke
	rec      *recorder
}

// wire builds two instances of the chatops function and the notify
// function over one DynamoDB table (dynalite), Step Functions (awsfake)
// and Slack (slacktest).
func wire(t *testing.T) *wired {
	client, table := db.NewTable(t)
	w := &wired{store: dynamo.New(client, table, nil), sfn: newFakeSFN(t), slack: slackfake.New(t), inv: &fakeInvoke{}, rec: &recorder{}}
	packs, err := pack.LoadDir("../testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := access.Parse("c.yaml", []byte("channel: C1\nrun:\n  - actions: ['ops.*']\n    users: [U1]\napprove:\n  - actions: ['*']\n    users: [U1]\nsilence:\n  - actions: ['*']\n    users: [U1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	settings := ingest.Settings{StateMachines: map[string]string{"diagnose-remediate-verify": machineARN}, PollSeconds: 5}
	parts := Parts{Secrets: secrets.Slack{BotToken: secrets.New("xoxb-test"), SigningSecret: secrets.New(secret)},
		State: w.store, SFN: sfn.NewFromConfig(w.sfn.Config()), Lambda: w.inv, SlackURL: w.slack.Server.GetAPIURL()}
	for _, app := range []**App{&w.a, &w.b} {
		if *app, err = Build(parts, packs, conf, settings, "medic-chatops"); err != nil {
			t.Fatal(err)
		}
		(*app).Handler.Respond = w.rec
	}
	w.notifyFn = &notify.Notifier{API: w.slack.Client(), Channel: "C1", Threads: notify.StateThreads{State: w.store}}
	return w
}

// command sends a signed slash command to app and runs the job it
// dispatched on other (any instance may get the asynchronous invocation).
func (w *wired) command(t *testing.T, app, other *App, text string) string {
	t.Helper()
	body := url.Values{"command": {"/medic"}, "text": {text}, "user_id": {"U1"}, "user_name": {"ann"}, "channel_id": {"C1"},
		"response_url": {"https://hooks.slack.test/x"}, "trigger_id": {fmt.Sprint(time.Now().UnixNano())}}.Encode()
	ev := urlEvent(body, true)
	out, err := app.Invoke(context.Background(), ev)
	if err != nil || out.(events.LambdaFunctionURLResponse).StatusCode != 200 {
		t.Fatalf("%q: %+v %v", text, out, err)
	}
	// The same request again, to the other instance: a replay.
	if out, _ := other.Invoke(context.Background(), ev); out.(events.LambdaFunctionURLResponse).StatusCode != 401 {
		t.Fatalf("%q replayed to another instance: %+v", text, out)
	}
	w.inv.mu.Lock()
	job := w.inv.calls[len(w.inv.calls)-1].Payload
	w.inv.mu.Unlock()
	n := len(w.rec.msgs)
	if _, err := other.Invoke(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if len(w.rec.msgs) != n+1 {
		t.Fatalf("%q: no answer", text)
	}
	m := w.rec.msgs[n]
	parts := []string{m.Text}
	if m.Blocks != nil {
		b, _ := json.Marshal(m.Blocks)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}

func TestLambdaEndToEndOverTheWire(t *testing.T) {
	w := wire(t)
	ctx := context.Background()

	// A run from chat: StartExecution with the engine's name, the alias's
	// ack, and a thread opened by the chatops function.
	ack := w.command(t, w.a, w.b, "restart nginx on web1")
	if len(w.sfn.started) != 1 {
		t.Fatalf("started %v", w.sfn.started)
	}
	var name string
	for name = range w.sfn.started {
	}
	if !strings.HasPrefix(name, "chatops-ops-restart-") || !strings.Contains(ack, "Restarting nginx on web1 (ops.restart)") || !strings.Contains(ack, name) {
		t.Fatalf("execution %s, ack %s", name, ack)
	}
	msgs := w.slack.Messages()
	if len(msgs) != 1 || msgs[0].ThreadTS != "" {
		t.Fatalf("thread not opened: %+v", msgs)
	}
	parent := msgs[0]

	// The notify function, another process, replies in that thread.
	w.notifyFn.Notify(ctx, map[string]any{"kind": "progress", "execution": name})
	// Step Functions asks the chatops function (instance b) for approval.
	if _, err := w.b.Invoke(ctx, json.RawMessage(fmt.Sprintf(`{"token":"tok-1","execution":%q,"action":"ops.restart"}`, name))); err != nil {
		t.Fatal(err)
	}
	for _, m := range w.slack.Messages()[1:] {
		if m.ThreadTS != parent.TS {
			t.Fatalf("posted outside the thread: %+v", m)
		}
	}
	// /medic approve reaches instance a; the pending request is in the table.
	if got := w.command(t, w.a, w.b, "approve "+name); !strings.Contains(got, "Recorded: approved") {
		t.Fatalf("approve: %s", got)
	}
	if len(w.sfn.tasks) != 1 || w.sfn.tasks[0]["taskToken"] != "tok-1" || !strings.Contains(w.sfn.tasks[0]["output"].(string), `"by":"U1"`) {
		t.Fatalf("SendTaskSuccess = %v", w.sfn.tasks)
	}
	if got := w.command(t, w.b, w.a, "approve "+name); !strings.Contains(got, "no open approval request") {
		t.Fatalf("second approve: %s", got)
	}

	// status reads Step Functions, completed with the kept origin.
	if got := w.command(t, w.b, w.a, "status "+name); !strings.Contains(got, "RUNNING") || !strings.Contains(got, "/medic restart nginx on web1") || !strings.Contains(got, "Remediate") {
		t.Fatalf("status: %s", got)
	}

	// The end: EventBridge's status change updates the parent and posts
	// the alias's result format, rendered with the kept parameters.
	w.sfn.mu.Lock()
	w.sfn.status[name] = "SUCCEEDED"
	w.sfn.mu.Unlock()
	change := fmt.Sprintf(`{"detail-type":%q,"source":"aws.states","detail":{"name":%q,"status":"SUCCEEDED"}}`, StatusChange, name)
	if _, err := w.a.Invoke(ctx, json.RawMessage(change)); err != nil {
		t.Fatal(err)
	}
	all := w.slack.Messages()
	update, result := all[len(all)-2], all[len(all)-1]
	if update.Method != "chat.update" || update.TS != parent.TS || !strings.Contains(update.Blocks, "SUCCEEDED") {
		t.Fatalf("parent update = %+v", update)
	}
	if result.ThreadTS != parent.TS || result.Text != "nginx is back: active (running)" {
		t.Fatalf("result = %+v", result)
	}

	// Alerts and silences are the consolidator's, in the same table.
	cons := &dispatch.Consolidator{State: w.store}
	if _, err := cons.Observe(ctx, trigger.Trigger{ID: "d-1", Type: trigger.TypeCloudWatchAlarm, Source: "eventbridge", Time: time.Now(),
		Payload: map[string]any{"alarm_name": "HighDisk", "state": "ALARM", "instance_id": "i-1"}}); err != nil {
		t.Fatal(err)
	}
	if got := w.command(t, w.a, w.b, "silence add alertname=HighDisk for 30m disk swap"); !strings.Contains(got, "silenced") {
		t.Fatalf("silence: %s", got)
	}
	if s, err := cons.Silences().Match(ctx, map[string]string{"alertname": "HighDisk", "instance_id": "i-1"}); err != nil || s == nil || s.CreatedBy != "U1" {
		t.Fatalf("the consolidator does not apply it: %+v %v", s, err)
	}
	got := w.command(t, w.b, w.a, "alerts")
	if !strings.Contains(got, "HighDisk") || !strings.Contains(got, "silenced by") || !strings.Contains(got, name) {
		t.Fatalf("alerts: %s", got)
	}
}
