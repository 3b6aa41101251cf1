package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/slack/slackfake"
)

// hostileRecord is a run whose alert name, chat command, rule, action,
// parameters, state names and error carry Slack markup.
func hostileRecord() *execution.Record {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	bad := strings.Join(slackfake.Hostile, " ")
	rec := &execution.Record{
		ID: "run-" + bad, StateMachine: "m " + bad, Rule: "rule " + bad, Action: "act " + bad,
		Params: map[string]any{"target": bad}, Status: execution.Running, Started: t0,
	}
	rec.Add(t0, "alert", "/medic restart "+bad, "asked in chat: "+bad)
	return rec
}

// Every text Slack parses (the notification text as well as the blocks)
// shows alert and chat text escaped: no one is pinged, no link is forged.
func TestNoHostileMarkupReachesSlack(t *testing.T) {
	fake := slackfake.New(t)
	n := &Notifier{API: fake.Client(), Channel: "C1", Result: func(*execution.Record) (string, bool) { return Escape("result " + slackfake.Hostile[0]), true }}
	rec := hostileRecord()
	n.OnStart(rec)
	for _, s := range []execution.Step{
		{Kind: "state", Name: "S " + slackfake.Hostile[1]},
		{Kind: "task", Name: "T " + slackfake.Hostile[0], Detail: "output " + slackfake.Hostile[3]},
		{Kind: "outcome", Name: "FAILED " + slackfake.Hostile[2], Detail: slackfake.Hostile[0]},
	} {
		rec.Timeline = append(rec.Timeline, s)
		n.OnStep(rec, s)
	}
	rec.Status, rec.Stopped, rec.Error = execution.Failed, rec.Started.Add(time.Second), "err "+slackfake.Hostile[0]
	n.OnDone(rec)
	bad := strings.Join(slackfake.Hostile, " ")
	n.Notify(context.Background(), map[string]any{"kind": "escalation", "execution": rec.ID, "attempts": bad, "target": bad})
	n.Notify(context.Background(), map[string]any{"kind": bad, "execution": "new-" + bad})

	msgs := fake.Messages()
	if len(msgs) < 8 {
		t.Fatalf("only %d messages", len(msgs))
	}
	for i, m := range msgs {
		if live := m.Live(slackfake.Hostile...); len(live) > 0 {
			t.Errorf("message %d (%s) carries live %v:\ntext %s\nblocks %s", i, m.Method, live, m.Text, m.Blocks)
		}
	}
	if !strings.Contains(msgs[0].Text, "&lt;!channel&gt;") {
		t.Fatalf("the parent's text lost the alert name: %s", msgs[0].Text)
	}
}

func TestMentions(t *testing.T) {
	for in, want := range map[string]string{
		"U123":         "<@U123>",
		"W0ABC_9":      "<@W0ABC_9>",
		"U1><!channel": "U1&gt;&lt;!channel",
		"alice":        "alice",
		"":             "",
		"<!everyone>":  "&lt;!everyone&gt;",
	} {
		if got := MentionUser(in); got != want {
			t.Errorf("MentionUser(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MentionGroup("S0SRE"); got != "<!subteam^S0SRE>" {
		t.Errorf("group: %q", got)
	}
	if got := MentionGroup("S1>|<!here"); got != "S1&gt;|&lt;!here" {
		t.Errorf("hostile group: %q", got)
	}
}
