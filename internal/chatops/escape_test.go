package chatops

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/slack/slackfake"
)

var hostile = strings.Join(slackfake.Hostile, " ")

func noLive(t *testing.T, what string, msg *slack.WebhookMessage) {
	t.Helper()
	if live := slackfake.WebhookLive(msg, slackfake.Hostile...); len(live) > 0 {
		t.Errorf("%s carries live %v: %+v", what, live, msg)
	}
}

// The acknowledgement Slack shows at once, and every answer, show the
// command's text escaped.
func TestCommandTextIsEscapedInEveryAnswer(t *testing.T) {
	e := newEnv(t)
	for _, text := range []string{
		"restart nginx on " + hostile, // an alias run: the ack renders the target
		"no such command " + hostile,  // no alias matches
		"status " + slackfake.Hostile[0],
		"silence add alertname=" + slackfake.Hostile[0] + " for 1h " + hostile,
		"silence expire " + slackfake.Hostile[3],
	} {
		before := len(e.replies.all())
		resp := e.post("/slack/commands", commandBody("U_OK", "C_OPS", text), time.Now().Unix(), "")
		var ack slack.WebhookMessage
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ack) != nil {
			t.Fatalf("%q: %d %s", text, resp.StatusCode, body)
		}
		noLive(t, "the acknowledgement of "+text, &ack)
		e.h.Wait()
		for _, r := range e.replies.all()[before:] {
			noLive(t, "the answer to "+text, r.Msg)
		}
	}
	// A silence made elsewhere (the CLI's --by is free text) is listed
	// escaped, its creator too.
	ms, _ := alert.ParseMatchers([]string{"alertname=x"})
	if _, err := e.h.Silences.Add(context.Background(), silence.Silence{Matchers: ms, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour),
		CreatedBy: slackfake.Hostile[0], Comment: hostile}); err != nil {
		t.Fatal(err)
	}
	list := e.command("U_OK", "C_OPS", "silence list")
	noLive(t, "silence list", list.Msg)
	if !strings.Contains(list.text(), "&lt;!channel&gt;") {
		t.Fatalf("silence list: %s", list.text())
	}
}

type okTasks struct{}

func (okTasks) Succeed(context.Context, string, any) error         { return nil }
func (okTasks) Fail(context.Context, string, string, string) error { return nil }

// An approval request's execution, action, parameters and approvers come
// from the workflow's input: none of them can ping or link.
func TestApprovalMessagesAreEscaped(t *testing.T) {
	e := newEnv(t)
	e.h.Approvals.Tasks = okTasks{}
	_, err := e.h.Approvals.Request(context.Background(), map[string]any{"token": "tok", "execution": "ex " + hostile,
		"action": "ops.restart", "params": map[string]any{"p": hostile}, "approvers": []any{"S_SRE", "U1><!channel", slackfake.Hostile[3]}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.slack.Messages()
	value := buttonValue(t, msgs[0], ActionApprove)
	e.click("U_OK", "C_OPS", ActionApprove, value, msgs[0].TS) // not an approver: refused
	e.click("U_SRE", "C_OPS", ActionApprove, value, msgs[0].TS)
	for i, m := range e.slack.Messages() {
		if live := m.Live(append(slackfake.Hostile, "<!channel", "<http")...); len(live) > 0 {
			t.Errorf("message %d (%s) carries live %v:\n%s\n%s", i, m.Method, live, m.Text, m.Blocks)
		}
	}
	if n := len(e.slack.Messages()); n != 2 {
		for _, r := range e.replies.all() {
			t.Log(r.text())
		}
		t.Fatalf("want the request and its update, got %d messages", n)
	}
	for _, r := range e.replies.all() {
		noLive(t, "the answer to a click", r.Msg)
	}
}
