package chatops

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/slack/verify"
	"github.com/medic-sre/medic/internal/state"
)

const signingSecret = "test-signing-secret-0123456789"

const grants = `
channel: C_OPS
run:
  - actions: ["ops.*"]
    users: [U_OK]
    channels: [C_OPS]
approve:
  - actions: ["ops.restart", "ops.careful_*"]
    groups: [S_SRE]
    channels: [C_OPS]
silence:
  - actions: ["*"]
    users: [U_OK]
`

// reply is one answer sent through a response_url.
type reply struct {
	URL string
	Msg *slack.WebhookMessage
}

type replies struct {
	mu   sync.Mutex
	list []reply
}

func (r *replies) Respond(_ context.Context, u string, m *slack.WebhookMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, reply{u, m})
	return nil
}

func (r *replies) all() []reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]reply(nil), r.list...)
}

// text flattens a reply: its text and the text of every section block.
func (r reply) text() string {
	parts := []string{r.Msg.Text}
	if r.Msg.Blocks != nil {
		for _, b := range r.Msg.Blocks.BlockSet {
			if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
				parts = append(parts, s.Text.Text)
			}
		}
	}
	return strings.Join(parts, "\n")
}

type started struct {
	Rec   *execution.Record
	Input any
}

type fakeStarter struct {
	mu   sync.Mutex
	runs []started
	// block, when set, holds Start until it is closed.
	block chan struct{}
}

func (f *fakeStarter) Start(_ context.Context, rec *execution.Record, input any) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.Rec.ID == rec.ID {
			return execution.ErrExists // as Step Functions and the local starter: a name starts once
		}
	}
	f.runs = append(f.runs, started{rec, input})
	return nil
}

type memExecutions map[string]*execution.Record

func (m memExecutions) Get(id string) (*execution.Record, error) {
	if r, ok := m[id]; ok {
		return r, nil
	}
	return nil, execution.ErrNotFound
}

func (m memExecutions) List() ([]*execution.Record, error) {
	var out []*execution.Record
	for _, r := range m {
		out = append(out, r)
	}
	return out, nil
}

type env struct {
	t       testing.TB
	h       *Handler
	srv     *httptest.Server
	slack   *slackfake.Fake
	replies *replies
	starter *fakeStarter
	state   *state.Memory
	logs    *bytes.Buffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	packs, err := pack.LoadDir("testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := access.Parse("chatops.yaml", []byte(grants))
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(signingSecret, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, slack: slackfake.New(t), replies: &replies{}, starter: &fakeStarter{}, state: state.NewMemory(nil), logs: &bytes.Buffer{}}
	e.slack.Groups = map[string][]string{"S_SRE": {"U_SRE"}, "S_OTHER": {"U_OK"}}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	groups := &SlackGroups{API: e.slack.Client()}
	e.h = &Handler{
		Verifier: v, Access: cfg, Packs: packs,
		Runner:     EngineRunner{Engine: &engine.Engine{Packs: packs, Starter: e.starter, Settings: action.Settings{PollSeconds: 1}, Log: log}},
		Executions: memExecutions{},
		Approvals:  &Approvals{API: e.slack.Client(), Channel: "C_OPS", Access: cfg, Groups: groups, Log: log},
		Groups:     groups,
		Respond:    e.replies,
		Log:        log,
	}
	Shared(e.h, e.state)
	e.srv = httptest.NewServer(e.h.Routes())
	t.Cleanup(e.srv.Close)
	return e
}

// post sends a body signed at ts with signature sig ("" = a correct one).
func (e *env) post(path, body string, ts int64, sig string) *http.Response {
	e.t.Helper()
	if sig == "" {
		sig = verify.Sign(signingSecret, ts, []byte(body))
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(verify.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(verify.HeaderSignature, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func commandBody(user, channel, text string) string {
	return url.Values{
		"command": {"/medic"}, "text": {text}, "user_id": {user}, "user_name": {"name-" + user},
		"channel_id": {channel}, "response_url": {"https://hooks.slack.test/commands/" + user}, "team_id": {"T1"},
		"trigger_id": {strconv.FormatInt(time.Now().UnixNano(), 10)}, // as Slack: every request differs
	}.Encode()
}

// command runs a slash command to completion and returns its answer.
func (e *env) command(user, channel, text string) reply {
	e.t.Helper()
	before := len(e.replies.all())
	resp := e.post("/slack/commands", commandBody(user, channel, text), time.Now().Unix(), "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%q: status %d: %s", text, resp.StatusCode, body)
	}
	e.h.Wait()
	all := e.replies.all()
	if len(all) != before+1 {
		e.t.Fatalf("%q: %d answers, want 1", text, len(all)-before)
	}
	return all[before]
}

// click posts a block_actions payload for a button.
func (e *env) click(user, channel, actionID, value, ts string) *http.Response {
	e.t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "name": "name-" + user},
		"channel": map[string]any{"id": channel}, "container": map[string]any{"channel_id": channel, "message_ts": ts},
		"response_url": "https://hooks.slack.test/actions/" + user,
		"action_ts":    strconv.FormatInt(time.Now().UnixNano(), 10), // as Slack does: every click differs
		"actions":      []map[string]any{{"type": "button", "action_id": actionID, "block_id": "medic_approval", "value": value}},
	})
	resp := e.post("/slack/interactions", url.Values{"payload": {string(payload)}}.Encode(), time.Now().Unix(), "")
	resp.Body.Close()
	e.h.Wait()
	return resp
}

// signedJob is the job accept hands on for body: signed as Slack signs.
func signedJob(kind, body string) Job { return signedJobAt(kind, body, time.Now()) }

func signedJobAt(kind, body string, at time.Time) Job {
	ts := at.Unix()
	return Job{Kind: kind, Body: body, Timestamp: strconv.FormatInt(ts, 10), Signature: verify.Sign(signingSecret, ts, []byte(body))}
}
