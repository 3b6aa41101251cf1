package chatops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/action"
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
}

// ActionRunner starts an action run and returns its execution ID.
type ActionRunner interface {
	RunAction(ctx context.Context, r RunRequest) (string, error)
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
	id, err := h.Runner.RunAction(ctx, RunRequest{Alias: al.Ref, Action: al.ActionRef, Params: params, Command: req.Text, Who: req.Who})
	if err != nil {
		return ephemeral(fmt.Sprintf(":warning: `%s` did not start: %s\nFormats of `%s`: %s", al.ActionRef,
			notify.Escape(err.Error()), al.Ref, formats(al)))
	}
	text := fmt.Sprintf(":arrow_forward: <@%s> started `%s` → execution `%s` (`%s status %s`)", req.Who.User, al.ActionRef, id, req.Slash, id)
	return inChannel(text, section(text))
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

// ActionStarter starts action runs as workflow executions: the same
// Starter the engine uses (the ASL interpreter locally, Step Functions in
// AWS), with a record whose trigger says who asked, in which channel.
type ActionStarter struct {
	Packs    *pack.Set
	Starter  engine.Starter
	Settings action.Settings
	Now      func() time.Time
}

// RunAction implements ActionRunner.
func (s *ActionStarter) RunAction(ctx context.Context, r RunRequest) (string, error) {
	a, ok := s.Packs.Action(r.Action)
	if !ok {
		return "", fmt.Errorf("action %q not found in the packs", r.Action)
	}
	if !a.Enabled {
		return "", fmt.Errorf("action %s is disabled", a.Ref)
	}
	params, err := a.ResolveParams(r.Params)
	if err != nil {
		return "", err
	}
	plan, err := action.Build(a, params, s.Settings)
	if err != nil {
		return "", err
	}
	rec := s.record(r, a, params, plan)
	if err := s.Starter.Start(ctx, rec, plan.Input); err != nil {
		if errors.Is(err, execution.ErrExists) {
			return rec.ID, nil
		}
		return "", err
	}
	return rec.ID, nil
}

func (s *ActionStarter) record(r RunRequest, a *pack.Action, params map[string]any, plan action.Plan) *execution.Record {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	t := trigger.Trigger{
		ID: newID(), Type: TriggerType, Source: "slack", Time: now,
		Payload: map[string]any{"user": r.Who.User, "channel": r.Who.Channel, "command": r.Command, "alias": r.Alias},
	}
	rec := &execution.Record{
		ID:           engine.ExecutionName("chatops."+r.Alias, t.ID),
		StateMachine: plan.StateMachine,
		Action:       a.Ref,
		Trigger:      t,
		Params:       a.MaskSecrets(params),
		Started:      now,
	}
	rec.Add(now, "alert", "/medic "+r.Command, fmt.Sprintf("asked in chat by user %s in channel %s", r.Who.User, r.Who.Channel))
	rec.Add(now, "action", a.Ref, fmt.Sprintf("%v", rec.Params))
	return rec
}

func newID() string {
	var b [12]byte
	rand.Read(b[:]) // documented never to fail
	return hex.EncodeToString(b[:])
}
