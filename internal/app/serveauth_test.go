package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/server"
	"github.com/medic-sre/medic/internal/server/apitoken"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/slackfake"
)

// syncBuffer collects the serve's logs from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveWith is `medic serve`'s composition over HTTP: Slack on (a fake
// workspace) when slackOn, and chatops.yaml holding grants when given.
func serveWith(t *testing.T, slackOn bool, grants string) (*Local, string, *syncBuffer) {
	return serveWithGroups(t, slackOn, grants, nil)
}

// serveWithGroups is serveWith whose Slack workspace has user groups.
func serveWithGroups(t *testing.T, slackOn bool, grants string, groups map[string][]string) (*Local, string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := LocalConfig{
		PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: t.TempDir(), PollSeconds: 1, Out: io.Discard,
		Log:           slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ChatopsConfig: filepath.Join(t.TempDir(), "chatops.yaml"), // absent unless grants are given
	}
	if grants != "" {
		if err := os.WriteFile(cfg.ChatopsConfig, []byte(grants), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if slackOn {
		fake := slackfake.New(t)
		fake.Groups = groups
		cfg.Slack = secrets.Slack{BotToken: secrets.New("xoxb-test"), SigningSecret: secrets.New(signingSecret)}
		cfg.SlackAPIURL = fake.Server.GetAPIURL()
	}
	local, err := NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, tok := range local.Tokens.Waiting() { // end what a test left waiting
			local.Tokens.Failure(tok, "Test.Cleanup", "the test ended")
		}
		local.Starter.Wait()
	})
	return local, httptestServer(t, local), logs
}

const leadGrants = "channel: C0OPS\nrun:\n  - actions: [\"*\"]\n    users: [U0LEAD]\napprove:\n  - actions: [core.ask]\n    users: [U0LEAD]\n  - actions: [core.ask]\n    users: [U0CHANNELONLY]\n    channels: [C0OPS]\n"

// call sends one request; headers are set as given (Authorization too),
// so a test can send none, one or several.
func call(t *testing.T, method, url string, headers http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func asUser(token, user string) http.Header {
	h := bearer(token)
	h.Set(server.UserHeader, user)
	return h
}

// Every read and control endpoint of `medic serve` with Slack on refuses a
// request without the right token, whatever shape the header takes, and
// says why in JSON without echoing the token; the logs never hold it.
func TestServeEndpointsRequireTheAPIToken(t *testing.T) {
	local, url, logs := serveWith(t, true, leadGrants)
	token := local.Server.APIToken
	task := startAsk(t, local, url)
	endpoints := []struct{ method, path string }{
		{"GET", "/v1/executions"},
		{"GET", "/v1/executions/" + task.Execution},
		{"GET", "/v1/tasks"},
		{"POST", "/v1/tasks/" + task.Token + "/success"},
		{"POST", "/v1/tasks/" + task.Token + "/failure"},
		{"GET", "/slack/counters"},
		{"HEAD", "/slack/counters"},
		{"GET", "/slack/%63ounters"},
		{"GET", "/slack//counters"},
		{"GET", "/slack/./counters"},
		{"PUT", "/slack/counters"},
	}
	hostile := map[string]http.Header{
		"none":             {},
		"empty":            {"Authorization": {""}},
		"bearer only":      {"Authorization": {"Bearer"}},
		"bearer empty":     {"Authorization": {"Bearer "}},
		"wrong":            bearer(strings.Repeat("0", 64)),
		"no scheme":        {"Authorization": {token}},
		"basic":            {"Authorization": {"Basic " + token}},
		"two spaces":       {"Authorization": {"Bearer  " + token}},
		"prefix of it":     bearer(token[:63]),
		"it and more":      bearer(token + "0"),
		"upper case":       bearer(strings.ToUpper(token)),
		"very long":        bearer(strings.Repeat("a", 64<<10)),
		"right then more":  {"Authorization": {"Bearer " + token, "Bearer wrong"}},
		"wrong then right": {"Authorization": {"Bearer wrong", "Bearer " + token}},
		"other header":     {"X-Api-Token": {token}, "Cookie": {"token=" + token}},
		"query":            {},
	}
	for name, h := range hostile {
		for _, e := range endpoints {
			path := e.path
			if name == "query" {
				path += "?token=" + token + "&access_token=" + token
			}
			code, body := call(t, e.method, url+path, h, `{"user":"U0LEAD"}`)
			if code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %d, want 401: %.200s", e.method, e.path, name, code, body)
				continue
			}
			if e.method != "HEAD" && (!strings.Contains(body, `"error"`) || strings.Contains(body, token)) {
				t.Errorf("%s %s with %s: the refusal must be a JSON error that does not echo the token: %.200s", e.method, e.path, name, body)
			}
		}
	}
	if got := waitingTasks(t, url, token); len(got) != 1 || got[0].Token != task.Token {
		t.Fatalf("the approval must still be waiting after the refused attempts: %+v", got)
	}
	assertRunning(t, local, task)
	if strings.Contains(logs.String(), token) {
		t.Fatal("the API token appears in the logs")
	}
	if !strings.Contains(logs.String(), "API request refused") {
		t.Fatalf("refusals are not logged:\n%s", logs.String())
	}

	// The right token opens them; "bearer" is a scheme, so its case is free.
	for _, h := range []http.Header{bearer(token), {"Authorization": {"bearer " + token}}} {
		for _, path := range []string{"/v1/executions", "/v1/executions/" + task.Execution, "/v1/tasks", "/slack/counters"} {
			if code, body := call(t, "GET", url+path, h, ""); code != http.StatusOK {
				t.Errorf("GET %s with the token: %d %s", path, code, body)
			}
		}
	}
}

// Senders keep their doors: alerts and webhooks need no token, Slack's
// POSTs are held to the signing secret (not the token), /healthz is open.
func TestServeSenderEndpointsStayOpen(t *testing.T) {
	_, url, _ := serveWith(t, true, leadGrants)
	if code, body := call(t, "POST", url+"/v1/events", nil, `{"detail-type": 5`); code != http.StatusBadRequest {
		t.Errorf("intake without a token: %d %s, want 400 (read, then refused as malformed)", code, body)
	}
	if code, _ := call(t, "POST", url+"/v1/webhooks/deploys", nil, `{"ok":true}`); code == http.StatusUnauthorized {
		t.Error("webhooks must not require the API token")
	}
	if code, body := call(t, "POST", url+"/slack/commands", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "text=help"); code != http.StatusUnauthorized || !strings.Contains(body, "Slack request signature") {
		t.Errorf("an unsigned Slack command: %d %s, want Slack's own 401", code, body)
	}
	if code, _ := call(t, "GET", url+"/healthz", nil, ""); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
}

// With Slack on, an approval over HTTP is held to the approve grants: a
// caller naming nobody, or someone the grants do not allow (also someone
// allowed only in a Slack channel) is refused with 403 and the execution
// keeps waiting; the allowed approver resumes it and is recorded.
func TestApprovalOverHTTPFollowsTheGrants(t *testing.T) {
	local, url, _ := serveWith(t, true, leadGrants)
	token := local.Server.APIToken
	task := startAsk(t, local, url)
	success := url + "/v1/tasks/" + task.Token + "/success"
	refused := []struct {
		name    string
		headers http.Header
		body    string
		want    int
	}{
		{"nobody named", bearer(token), "", http.StatusForbidden},
		{"empty user header", asUser(token, ""), "", http.StatusForbidden},
		{"empty user header, intruder in the body", asUser(token, ""), `{"user":"U0INTRUDER"}`, http.StatusForbidden},
		{"user without a grant", asUser(token, "U0INTRUDER"), "", http.StatusForbidden},
		{"user without a grant, in the body", bearer(token), `{"user":"U0INTRUDER"}`, http.StatusForbidden},
		{"granted only in a channel", asUser(token, "U0CHANNELONLY"), "", http.StatusForbidden},
		{"local operator", asUser(token, server.LocalOperator), "", http.StatusForbidden},
		{"header and body disagree", asUser(token, "U0INTRUDER"), `{"user":"U0LEAD"}`, http.StatusBadRequest},
		{"two user headers", http.Header{"Authorization": {"Bearer " + token}, server.UserHeader: {"U0LEAD", "U0INTRUDER"}}, "", http.StatusBadRequest},
		{"mention as user", asUser(token, "<!channel>"), "", http.StatusBadRequest},
		{"very long user", asUser(token, strings.Repeat("U", 10000)), "", http.StatusBadRequest},
		{"user with newline", bearer(token), `{"user":"U0LEAD\nlevel=ERROR"}`, http.StatusBadRequest},
		{"body not JSON", asUser(token, "U0LEAD"), `approve!`, http.StatusBadRequest},
	}
	for _, r := range refused {
		if code, body := call(t, "POST", success, r.headers, r.body); code != r.want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d", r.name, code, body, r.want)
		}
	}
	assertRunning(t, local, task)

	code, body := call(t, "POST", success, asUser(token, "U0LEAD"), `{"comment":"go ahead"}`)
	if code != http.StatusOK || !strings.Contains(body, `"by": "U0LEAD"`) {
		t.Fatalf("the granted approver: %d %s", code, body)
	}
	rec := waitDone(t, local, task.Execution)
	if rec.Status != execution.Succeeded || !timelineHas(rec, `"by":"U0LEAD"`) || !timelineHas(rec, `"channel":"api"`) {
		t.Fatalf("approval not recorded on the execution: %s\n%+v", rec.Status, rec.Timeline)
	}
	if code, _ := call(t, "POST", success, asUser(token, "U0LEAD"), ""); code != http.StatusNotFound {
		t.Fatalf("a second decision: %d, want 404", code)
	}
}

// Grants by Slack user group apply over HTTP too: membership is looked up
// as for a click.
func TestApprovalOverHTTPByGroupGrant(t *testing.T) {
	grants := "channel: C0OPS\napprove:\n  - actions: [\"core.*\"]\n    groups: [S0SRE]\n"
	local, url, _ := serveWithGroups(t, true, grants, map[string][]string{"S0SRE": {"U0MEMBER"}})
	token := local.Server.APIToken
	task := startAsk(t, local, url)
	success := url + "/v1/tasks/" + task.Token + "/success"
	if code, body := call(t, "POST", success, asUser(token, "U0OUTSIDER"), ""); code != http.StatusForbidden {
		t.Fatalf("a user outside the group: %d %s", code, body)
	}
	assertRunning(t, local, task)
	if code, body := call(t, "POST", success, asUser(token, "U0MEMBER"), ""); code != http.StatusOK {
		t.Fatalf("a member of the granted group: %d %s", code, body)
	}
	if rec := waitDone(t, local, task.Execution); rec.Status != execution.Succeeded || !timelineHas(rec, `"by":"U0MEMBER"`) {
		t.Fatalf("%s\n%+v", rec.Status, rec.Timeline)
	}
}

// A rejection over HTTP by the granted approver fails the task with the
// error Slack's Reject gives, the decision (who) in the cause.
func TestRejectionOverHTTPIsRecorded(t *testing.T) {
	local, url, _ := serveWith(t, false, leadGrants) // grants apply with Slack off too
	token := local.Server.APIToken
	task := startAsk(t, local, url)
	failure := url + "/v1/tasks/" + task.Token + "/failure"
	if code, body := call(t, "POST", failure, asUser(token, "U0INTRUDER"), `{"comment":"no"}`); code != http.StatusForbidden {
		t.Fatalf("reject by a user without the grant: %d %s", code, body)
	}
	assertRunning(t, local, task)
	if code, body := call(t, "POST", failure, asUser(token, "U0LEAD"), `{"comment":"not now"}`); code != http.StatusOK {
		t.Fatalf("reject by the approver: %d %s", code, body)
	}
	rec := waitDone(t, local, task.Execution)
	if rec.Status != execution.Failed || rec.Error != "Medic.ApprovalRejected" || !timelineHas(rec, `"by":"U0LEAD"`) || !timelineHas(rec, "not now") {
		t.Fatalf("rejection not recorded: %s %s %s\n%+v", rec.Status, rec.Error, rec.Cause, rec.Timeline)
	}
}

// Without a chatops config only the API token's holder approves, and the
// decision is recorded as local-operator; naming someone else is refused.
func TestApprovalWithoutChatopsConfigIsTheLocalOperators(t *testing.T) {
	local, url, _ := serveWith(t, false, "")
	token := local.Server.APIToken
	task := startAsk(t, local, url)
	success := url + "/v1/tasks/" + task.Token + "/success"
	if code, _ := call(t, "POST", success, nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
	if code, body := call(t, "POST", success, asUser(token, "U0SOMEONE"), ""); code != http.StatusForbidden {
		t.Fatalf("claiming a user with no grants to check: %d %s", code, body)
	}
	assertRunning(t, local, task)
	if code, body := call(t, "POST", success, bearer(token), ""); code != http.StatusOK {
		t.Fatalf("the local operator: %d %s", code, body)
	}
	rec := waitDone(t, local, task.Execution)
	if rec.Status != execution.Succeeded || !timelineHas(rec, `"by":"local-operator"`) {
		t.Fatalf("%s\n%+v", rec.Status, rec.Timeline)
	}
}

// The task token segment is attacker-shaped: traversal, encoded slashes,
// empty, huge. None of them completes anything, and the approval waits.
func TestTaskTokenSegmentHostileValues(t *testing.T) {
	local, url, _ := serveWith(t, false, "")
	token := local.Server.APIToken
	task := startAsk(t, local, url)
	for _, seg := range []string{
		"..", "../executions", "..%2f..%2fexecutions", "%2e%2e", task.Token + "%2f..", "",
		strings.Repeat("a", 8000), task.Token[:len(task.Token)-1], strings.ToUpper(task.Token),
		task.Token + "%00", "%20" + task.Token, "*",
	} {
		for _, outcome := range []string{"success", "failure"} {
			code, body := call(t, "POST", url+"/v1/tasks/"+seg+"/"+outcome, bearer(token), "")
			if code == http.StatusOK {
				t.Errorf("token segment %.40q/%s completed something: %s", seg, outcome, body)
			}
		}
	}
	if code, _ := call(t, "POST", url+"/v1/tasks/"+task.Token+"/approve", bearer(token), ""); code != http.StatusNotFound {
		t.Errorf("an unknown outcome: %d, want 404", code)
	}
	assertRunning(t, local, task)
}

// The API token is created once, 0600, and kept across restarts.
func TestAPITokenFile(t *testing.T) {
	dir := t.TempDir()
	mk := func() *Local {
		l, err := NewLocal(LocalConfig{PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"), StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := mk().Server.APIToken
	info, err := os.Stat(apitoken.Path(dir))
	if err != nil || info.Mode().Perm() != 0o600 || len(first) != 64 {
		t.Fatalf("token file: %v %v, token length %d", info, err, len(first))
	}
	if again := mk().Server.APIToken; again != first {
		t.Fatal("a restart changed the API token")
	}
}

// startAsk starts core.ask (the approval workflow) as serve's engine does
// and waits until its approval task is on the board.
func startAsk(t *testing.T, local *Local, url string) server.WaitingTask {
	t.Helper()
	rec, _, err := local.Engine.StartAction(context.Background(), engine.Run{
		Name: "core-ask-" + strings.ReplaceAll(t.Name(), "/", "-"), Action: "core.ask",
		Params: map[string]any{"question": "restart web1?", "timeout_seconds": 120},
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, w := range waitingTasks(t, url, local.Server.APIToken) {
			if w.Execution == rec.ID && w.Approval != nil {
				if w.Approval.Action != "core.ask" {
					t.Fatalf("approval task: %+v", w)
				}
				return w
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("execution %s never waited for approval", rec.ID)
	return server.WaitingTask{}
}

func waitingTasks(t *testing.T, url, token string) []server.WaitingTask {
	t.Helper()
	code, body := call(t, "GET", url+"/v1/tasks", bearer(token), "")
	var res struct {
		Waiting []string
		Tasks   []server.WaitingTask
	}
	if err := json.Unmarshal([]byte(body), &res); code != http.StatusOK || err != nil || len(res.Waiting) != len(res.Tasks) {
		t.Fatalf("GET /v1/tasks: %d %s %v", code, body, err)
	}
	return res.Tasks
}

func assertRunning(t *testing.T, local *Local, task server.WaitingTask) {
	t.Helper()
	rec, err := local.Executions.Get(task.Execution)
	if err != nil || rec.Status != execution.Running {
		t.Fatalf("execution %s must still be waiting: %v %v", task.Execution, rec, err)
	}
	if !slices.Contains(local.Tokens.Waiting(), task.Token) {
		t.Fatalf("execution %s no longer waits on its approval", task.Execution)
	}
}

func waitDone(t *testing.T, local *Local, id string) *execution.Record {
	t.Helper()
	local.Starter.Wait()
	rec, err := local.Executions.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func timelineHas(rec *execution.Record, s string) bool {
	for _, step := range rec.Timeline {
		if strings.Contains(step.Detail, s) {
			return true
		}
	}
	return false
}
