package chatops

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/slack/verify"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/workflow"
)

// The whole local path: a signed /medic command starts a workflow in the
// interpreter, its thread opens, the approval step posts buttons in the
// thread, an approver's click resumes it, and the thread ends SUCCEEDED.
func TestLocalEndToEnd(t *testing.T) {
	const token, signing = "xoxb-local-secret-token", "local-signing-secret"
	fake := slackfake.New(t)
	fake.Groups = map[string][]string{"S_SRE": {"U_SRE"}}
	packs, err := pack.LoadDir("testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := access.Parse("c.yaml", []byte(grants))
	lib, err := workflow.LoadLibrary("testdata/statemachines", map[string]string{"ApprovalFunctionArn": ApprovalFunction})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	hub := asl.NewTokenHub()
	store := memStore{}
	starter := &workflow.LocalStarter{Library: lib, Store: store, Tokens: hub, Log: log}
	local, err := NewLocal(LocalParts{
		Secrets: secrets.Slack{BotToken: secrets.New(token), SigningSecret: secrets.New(signing)},
		Config:  conf, Packs: packs, Starter: starter, Executions: store, Tokens: hub, APIURL: fake.Server.GetAPIURL(), Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	starter.Tasks = &localtask.Handler{Functions: map[string]localtask.Function{ApprovalFunction: local.Approvals.Request}}
	starter.OnStart, starter.OnStep, starter.OnDone = local.Notifier.OnStart, local.Notifier.OnStep, local.Notifier.OnDone
	rec := &replies{}
	local.Handler.Respond = rec
	srv := httptest.NewServer(local.Handler.Routes())
	defer srv.Close()

	post := func(path, body string) {
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set(verify.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(verify.HeaderSignature, verify.Sign(signing, ts, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp.StatusCode, err)
		}
		resp.Body.Close()
		local.Handler.Wait()
	}
	post("/slack/commands", commandBody("U_OK", "C_OPS", "carefully restart nginx"))
	if r := rec.all(); len(r) != 1 || !strings.Contains(r[0].text(), "started `ops.careful_restart`") {
		t.Fatalf("replies = %+v", r)
	}

	var value, ts, parent string
	deadline := time.Now().Add(5 * time.Second)
	for value == "" && time.Now().Before(deadline) {
		for _, m := range fake.Messages() {
			if parent == "" && m.Method == "chat.postMessage" {
				parent = m.TS
			}
			if v := buttonValue(t, m, ActionApprove); v != "" {
				value, ts = v, m.TS
				if m.ThreadTS != parent {
					t.Errorf("approval request outside the execution thread: %+v", m)
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if value == "" {
		t.Fatalf("no approval request: %+v", fake.Messages())
	}
	payload := `{"type":"block_actions","user":{"id":"U_SRE","name":"sre"},"channel":{"id":"C_OPS"},` +
		`"container":{"channel_id":"C_OPS","message_ts":"` + ts + `"},"response_url":"https://hooks.slack.test/a",` +
		`"actions":[{"type":"button","block_id":"medic_approval","action_id":"medic_approve","value":` + strconv.Quote(value) + `}]}`
	post("/slack/interactions", url.Values{"payload": {payload}}.Encode())
	starter.Wait()

	recs, _ := store.List()
	if len(recs) != 1 || recs[0].Status != execution.Succeeded {
		t.Fatalf("records = %+v\n%s\n%+v", recs[0], logs.String(), rec.all())
	}
	out := recs[0].Output.(map[string]any)
	if out["approval"].(map[string]any)["by"] != "U_SRE" || out["result"] != "restarted" {
		t.Fatalf("output = %v", out)
	}
	msgs := fake.Messages()
	var last slackfake.Message // the decision reply may race the end of the run
	for _, m := range msgs {
		if m.Method == "chat.update" && m.TS == parent {
			last = m
		}
	}
	if !strings.Contains(last.Text, "SUCCEEDED") {
		t.Fatalf("last update of the parent = %+v", last)
	}
	var approvedInThread bool
	for _, m := range msgs {
		if m.ThreadTS == parent && strings.Contains(m.Text, "<@U_SRE> *approved*") {
			approvedInThread = true
		}
	}
	if !approvedInThread {
		t.Errorf("decision not posted in the thread: %+v", msgs)
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), signing) {
		t.Fatalf("secrets in the log:\n%s", logs.String())
	}
}

func TestNewLocalWithoutSecrets(t *testing.T) {
	if _, err := NewLocal(LocalParts{}); err != ErrNoSlack {
		t.Fatalf("err = %v", err)
	}
}

// memStore is an execution.Store in memory.
type memStore map[string]*execution.Record

func (m memStore) Create(r *execution.Record) error {
	if _, ok := m[r.ID]; ok {
		return execution.ErrExists
	}
	m[r.ID] = r
	return nil
}
func (m memStore) Put(r *execution.Record) error { m[r.ID] = r; return nil }
func (m memStore) Get(id string) (*execution.Record, error) {
	return memExecutions(m).Get(id)
}
func (m memStore) List() ([]*execution.Record, error) { return memExecutions(m).List() }

// serve passes its engine: chat runs go through its StartAction, and the
// consolidator's state holds silences, alerts, threads and approvals.
func TestNewLocalSharesTheConsolidatorsState(t *testing.T) {
	packs, err := pack.LoadDir("testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := access.Parse("c.yaml", []byte(grants))
	st := state.NewMemory(nil)
	eng := &engine.Engine{Packs: packs, Starter: &fakeStarter{}, Consolidator: &dispatch.Consolidator{State: st}}
	local, err := NewLocal(LocalParts{Secrets: secrets.Slack{BotToken: secrets.New("x"), SigningSecret: secrets.New("y")},
		Config: conf, Packs: packs, Engine: eng, Tokens: asl.NewTokenHub()})
	if err != nil {
		t.Fatal(err)
	}
	h := local.Handler
	if s, ok := h.Silences.(*silence.Store); !ok || s.State != st {
		t.Fatalf("silences = %#v, want the consolidator's store", h.Silences)
	}
	if c, ok := h.Alerts.(*dispatch.Consolidator); !ok || c.State != st {
		t.Fatalf("alerts = %#v", h.Alerts)
	}
	if r, ok := h.Runner.(EngineRunner); !ok || r.Engine != Engine(eng) {
		t.Fatalf("runner = %#v, want serve's engine", h.Runner)
	}
	if _, ok := local.Approvals.Pending.(StatePending); !ok {
		t.Fatalf("pending = %#v", local.Approvals.Pending)
	}
	if _, ok := local.Notifier.Threads.(notify.StateThreads); !ok {
		t.Fatalf("threads = %#v", local.Notifier.Threads)
	}
	// Without an engine, the old Starter field still works.
	local, err = NewLocal(LocalParts{Secrets: secrets.Slack{BotToken: secrets.New("x"), SigningSecret: secrets.New("y")},
		Config: conf, Packs: packs, Starter: &fakeStarter{}, Tokens: asl.NewTokenHub()})
	if err != nil || local.Handler.Silences != nil || local.Handler.Alerts != nil {
		t.Fatalf("without state: %v %#v", err, local.Handler)
	}
}
