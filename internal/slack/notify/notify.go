// Package notify keeps one Slack thread per execution: the parent message
// shows the alert, what matched and where the workflow is, and is updated in
// place (chat.update); task results, notifications and the outcome are
// replies in its thread. The channel sees one message per incident, not a
// flood.
package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/execution"
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
// default; a Lambda deployment needs a shared store (DynamoDB), because the
// function that opens a thread is not the one that later replies in it.
type Threads interface {
	Get(execution string) (Thread, bool)
	Put(execution string, t Thread)
}

// Memory is an in-process Threads.
type Memory struct {
	mu sync.Mutex
	m  map[string]Thread
}

func (m *Memory) Get(id string) (Thread, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.m[id]
	return t, ok
}

func (m *Memory) Put(id string, t Thread) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Thread{}
	}
	m.m[id] = t
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
	Log     *slog.Logger

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
	if _, ok := n.Threads.Get(rec.ID); ok {
		return // a redelivered start: the thread already exists
	}
	ch, ts, err := n.API.PostMessageContext(ctx, n.Channel,
		slack.MsgOptionText(ParentText(rec), false), slack.MsgOptionBlocks(ParentBlocks(rec, "")...))
	if err != nil {
		n.log().Error("slack: opening execution thread failed", "execution", rec.ID, "err", err)
		return
	}
	n.Threads.Put(rec.ID, Thread{Channel: ch, TS: ts})
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

// OnDone refreshes the parent with the final status.
func (n *Notifier) OnDone(rec *execution.Record) {
	n.init()
	n.mu.Lock()
	delete(n.current, rec.ID)
	n.mu.Unlock()
	n.refresh(rec, "")
}

// Reply posts into the execution's thread (or, when it has none, to the
// channel, so nothing is lost).
func (n *Notifier) Reply(executionID, text string, blocks ...slack.Block) {
	n.init()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	channel := n.Channel
	if t, ok := n.Threads.Get(executionID); ok {
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
	return n.Threads.Get(executionID)
}

func (n *Notifier) refresh(rec *execution.Record, now string) {
	t, ok := n.Threads.Get(rec.ID)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, _, _, err := n.API.UpdateMessageContext(ctx, t.Channel, t.TS,
		slack.MsgOptionText(ParentText(rec), false), slack.MsgOptionBlocks(ParentBlocks(rec, now)...))
	if err != nil {
		n.log().Error("slack: updating execution message failed", "execution", rec.ID, "err", err)
	}
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.Default()
	}
	return n.Log
}
