package chatops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/trigger"
)

// TriggerType is the trigger of executions started from chat.
const TriggerType = "medic.chatops.command"

// RunRequest is an action run asked for in chat.
type RunRequest struct {
	Alias   string // the alias that matched
	Action  string
	Params  map[string]any // from the command; not yet resolved
	Command string         // the text typed
	Who     access.Who
	// RequestKey identifies the chat request (the same for every retry of
	// its job); the execution is named after it. Empty: a fresh name.
	RequestKey string
}

// ActionRunner starts an action run and returns its execution record.
type ActionRunner interface {
	RunAction(ctx context.Context, r RunRequest) (*execution.Record, error)
}

// run matches the text against the aliases, checks the grant and starts
// the action.
func (h *Handler) run(ctx context.Context, req request) *slack.WebhookMessage {
	al, params := matchAlias(h.Packs.Aliases(), req.Text)
	if al == nil {
		return ephemeral(fmt.Sprintf(":grey_question: No command or alias matches `%s`. `%s help` lists them.", notify.Escape(req.Text), req.Slash))
	}
	if err := h.Access.CanRun(al.ActionRef, req.Who); err != nil {
		h.log().Info("chatops: run refused", "user", req.Who.User, "action", al.ActionRef, "reason", err.Error())
		return ephemeral(":no_entry: " + err.Error())
	}
	if h.Runner == nil {
		return ephemeral(":no_entry: Running actions is not available in this deployment.")
	}
	rec, err := h.Runner.RunAction(ctx, RunRequest{Alias: al.Ref, Action: al.ActionRef, Params: params, Command: req.Text, Who: req.Who, RequestKey: req.Key})
	var refused *engine.RefusedError
	if errors.As(err, &refused) {
		h.log().Info("chatops: run refused by the guard", "user", req.Who.User, "action", al.ActionRef, "target", refused.Target, "reason", refused.Reason)
		return ephemeral(fmt.Sprintf(":no_entry: `%s` %s. Nothing was started.", al.ActionRef, notify.Escape(refused.Error())))
	}
	if err != nil {
		return ephemeral(fmt.Sprintf(":warning: `%s` did not start: %s\nFormats of `%s`: %s", al.ActionRef,
			notify.Escape(err.Error()), al.Ref, formats(al)))
	}
	if h.Notifier != nil {
		h.Notifier.OnStart(rec) // no-op when the starter's hook already opened it
	}
	return h.ack(al, rec, req)
}

// matchAlias returns the first enabled alias that parses text.
func matchAlias(aliases []*pack.Alias, text string) (*pack.Alias, map[string]any) {
	for _, al := range aliases {
		if !al.Enabled {
			continue
		}
		if params, ok := al.Match(text); ok {
			return al, params
		}
	}
	return nil, nil
}

func formats(al *pack.Alias) string {
	var out string
	for i, f := range al.Formats {
		if i > 0 {
			out += ", "
		}
		d := f.Display
		if d == "" && len(f.Representations) > 0 {
			d = f.Representations[0]
		}
		out += "`" + notify.Escape(d) + "`"
	}
	return out
}

// Engine is what EngineRunner needs: (*engine.Engine).StartAction, which
// resolves the parameters against the action, builds the workflow input
// and starts it with the deployment's Starter.
type Engine interface {
	StartAction(ctx context.Context, r engine.Run) (*execution.Record, bool, error)
}

// EngineRunner starts chat runs through the engine, as rules do, with a
// trigger saying who asked, in which channel, with which command.
type EngineRunner struct {
	Engine Engine
	// Runs, when set, keeps each run's origin (needed where executions
	// are read back from Step Functions, which does not keep it).
	Runs *Runs
	Now  func() time.Time
	Log  *slog.Logger
}

// RunAction implements ActionRunner. The execution is named after the
// alias and the request, so every command is its own run and a retry of
// the same request is the same run (Step Functions starts a name once).
func (r EngineRunner) RunAction(ctx context.Context, req RunRequest) (*execution.Record, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	id := req.RequestKey
	if id == "" {
		id = newID()
	}
	t := trigger.Trigger{
		ID: id, Type: TriggerType, Source: "slack", Time: now,
		Payload: map[string]any{"user": req.Who.User, "channel": req.Who.Channel, "command": req.Command, "alias": req.Alias},
	}
	rec, _, err := r.Engine.StartAction(ctx, engine.Run{
		Name: ExecutionName(req.Alias, t.ID), Action: req.Action, Params: req.Params, Trigger: t,
		Origin: []execution.Step{{Kind: "alert", Name: "/medic " + req.Command,
			Detail: fmt.Sprintf("asked in chat by user %s in channel %s", req.Who.User, req.Who.Channel)}},
	})
	if err != nil {
		return nil, err
	}
	if r.Runs != nil {
		if err := r.Runs.Put(ctx, rec); err != nil && r.Log != nil {
			// The run started; only its thread will lack who asked.
			r.Log.Error("chatops: keeping the run's origin failed", "execution", rec.ID, "err", err)
		}
	}
	return rec, nil
}

// ExecutionName names the execution of a chat run of alias.
func ExecutionName(alias, triggerID string) string {
	return engine.ExecutionName("chatops."+alias, triggerID)
}

func newID() string {
	var b [12]byte
	rand.Read(b[:]) // documented never to fail
	return hex.EncodeToString(b[:])
}
