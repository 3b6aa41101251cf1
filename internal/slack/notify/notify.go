// Package notify keeps one Slack thread per execution: the parent message
// shows the alert, what matched and where the workflow is, and is updated in
// place (chat.update); task results, notifications and the outcome are
// replies in its thread. The channel sees one message per incident, not a
// flood.
package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/secret"
)

// API is the part of the Slack Web API used here; *slack.Client has it.
type API interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// Thread locates an execution's parent message.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Threads remembers the thread of each execution. Memory is the local
// default; a Lambda deployment shares StateThreads (the DynamoDB table),
// because the function that opens a thread is not the one that later
// replies in it.
type Threads interface {
	Get(ctx context.Context, execution string) (Thread, bool, error)
	Put(ctx context.Context, execution string, t Thread) error
}

// Memory is an in-process Threads.
type Memory struct {
	mu sync.Mutex
	m  map[string]Thread
}

func (m *Memory) Get(_ context.Context, id string) (Thread, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.m[id]
	return t, ok, nil
}

func (m *Memory) Put(_ context.Context, id string, t Thread) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Thread{}
	}
	m.m[id] = t
	return nil
}

// callTimeout bounds each Slack call: the hooks run inside the workflow,
// and a slow Slack must not stall remediation for long.
const callTimeout = 10 * time.Second

// Notifier posts execution progress to Slack. Its OnStart, OnStep and
// OnDone methods match workflow.LocalStarter's hooks.
type Notifier struct {
	API     API
	Channel string
	Threads Threads // nil: an in-process Memory
	// Result, when set, renders what an ended execution produced (an
	// alias's result format); OnDone replies with it in the thread. ok
	// false: nothing to add.
	Result func(rec *execution.Record) (text string, ok bool)
	Log    *slog.Logger

	once sync.Once
	mu   sync.Mutex
	// current is the state each running execution is in, shown in the
	// parent message; forgotten when the execution ends.
	current map[string]string
}

func (n *Notifier) init() {
	n.once.Do(func() {
		if n.Threads == nil {
			n.Threads = &Memory{}
		}
		n.current = map[string]string{}
	})
}

// OnStart opens the execution's thread.
func (n *Notifier) OnStart(rec *execution.Record) {
	n.init()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, ok := n.thread(ctx, rec.ID); ok {
		return // a redelivered start: the thread already exists
	}
	n.open(ctx, rec.ID, ParentText(rec), ParentBlocks(rec, "")...)
}

// open posts a parent message and remembers it as the execution's thread.
func (n *Notifier) open(ctx context.Context, executionID, text string, blocks ...slack.Block) (Thread, bool) {
	ch, ts, err := n.API.PostMessageContext(ctx, n.Channel, scrubbed(text, blocks)...)
	if err != nil {
		n.log().Error("slack: opening execution thread failed", "execution", executionID, "err", err)
		return Thread{}, false
	}
	t := Thread{Channel: ch, TS: ts}
	if err := n.Threads.Put(ctx, executionID, t); err != nil {
		n.log().Error("slack: remembering the execution thread failed", "execution", executionID, "err", err)
	}
	return t, true
}

// thread looks the execution's thread up; a store error is logged and
// treated as no thread, so a message is posted to the channel rather than
// lost.
func (n *Notifier) thread(ctx context.Context, executionID string) (Thread, bool) {
	t, ok, err := n.Threads.Get(ctx, executionID)
	if err != nil {
		n.log().Error("slack: reading the execution thread failed", "execution", executionID, "err", err)
		return Thread{}, false
	}
	return t, ok
}

// OnStep records the current state and, for task results, replies in the
// thread and refreshes the parent. State entries only move the "now" line
// at the next refresh: polling loops would otherwise flood the thread.
func (n *Notifier) OnStep(rec *execution.Record, s execution.Step) {
	n.init()
	n.mu.Lock()
	if s.Kind == "state" {
		n.current[rec.ID] = s.Name
		n.mu.Unlock()
		return
	}
	now := n.current[rec.ID]
	n.mu.Unlock()
	if s.Kind != "task" && s.Kind != "outcome" {
		return
	}
	n.Reply(rec.ID, StepText(s), StepBlocks(rec, s)...)
	n.refresh(rec, now)
}

// OnDone refreshes the parent with the final status and, when Result
// renders something for this execution, replies with it.
func (n *Notifier) OnDone(rec *execution.Record) {
	n.init()
	n.mu.Lock()
	delete(n.current, rec.ID)
	n.mu.Unlock()
	n.refresh(rec, "")
	if n.Result == nil {
		return
	}
	if text, ok := n.Result(rec); ok {
		n.Reply(rec.ID, text, slack.NewSectionBlock(mrkdwn(text), nil, nil))
	}
}

// Reply posts into the execution's thread (or, when it has none, to the
// channel, so nothing is lost).
func (n *Notifier) Reply(executionID, text string, blocks ...slack.Block) {
	n.init()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	opts := scrubbed(text, blocks)
	channel := n.Channel
	if t, ok := n.thread(ctx, executionID); ok {
		channel = t.Channel
		opts = append(opts, slack.MsgOptionTS(t.TS))
	}
	if _, _, err := n.API.PostMessageContext(ctx, channel, opts...); err != nil {
		n.log().Error("slack: reply failed", "execution", executionID, "err", err)
	}
}

// Thread returns the thread of an execution, if one was opened.
func (n *Notifier) Thread(executionID string) (Thread, bool) {
	n.init()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return n.thread(ctx, executionID)
}

func (n *Notifier) refresh(rec *execution.Record, now string) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	t, ok := n.thread(ctx, rec.ID)
	if !ok {
		return
	}
	_, _, _, err := n.API.UpdateMessageContext(ctx, t.Channel, t.TS, scrubbed(ParentText(rec), ParentBlocks(rec, now))...)
	if err != nil {
		n.log().Error("slack: updating execution message failed", "execution", rec.ID, "err", err)
	}
}

// scrubbed is a message's text and blocks as options, with every known
// secret (internal/secret: Medic's Slack credentials, secret parameters,
// secrets the function loaded) masked. Command output, alert fields and
// parameters end up in these texts however they came by a secret, so
// every post and update goes through here.
func scrubbed(text string, blocks []slack.Block) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(scrubText(text), false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(scrubBlocks(blocks)...))
	}
	return opts
}

// scrubBlocks masks secrets in every string of the blocks. It goes through
// JSON so no block type or nested text object is missed; blocks that do
// not round-trip are replaced by one plain notice rather than posted
// unscrubbed.
func scrubBlocks(blocks []slack.Block) []slack.Block {
	raw, err := json.Marshal(blocks)
	if err != nil {
		return unscrubbable()
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return unscrubbable()
	}
	raw, err = json.Marshal(scrubStrings(tree))
	if err != nil {
		return unscrubbable()
	}
	var out slack.Blocks
	if err := json.Unmarshal(raw, &out); err != nil {
		return unscrubbable()
	}
	return out.BlockSet
}

// scrubText masks known secrets, raw and as Escape renders them (texts
// are often escaped before they get here).
func scrubText(text string) string { return secret.ScrubEncoded(text, Escape) }

// scrubPayload is a copy of a task's payload with known secrets masked in
// every string (the caller's value is left alone).
func scrubPayload(payload any) any {
	raw, err := json.Marshal(payload)
	if err != nil {
		return map[string]any{"kind": "notification", "error": "payload withheld: not JSON"}
	}
	var copied any
	if err := json.Unmarshal(raw, &copied); err != nil {
		return map[string]any{"kind": "notification", "error": "payload withheld: not JSON"}
	}
	return scrubStrings(copied)
}

func scrubStrings(v any) any {
	switch x := v.(type) {
	case string:
		return scrubText(x)
	case []any:
		for i := range x {
			x[i] = scrubStrings(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = scrubStrings(x[k])
		}
	}
	return v
}

func unscrubbable() []slack.Block {
	return []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.PlainTextType, "(message withheld: it could not be checked for secrets)", false, false), nil, nil)}
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.Default()
	}
	return n.Log
}
