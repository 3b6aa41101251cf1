package chatops

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops/command"
	"github.com/medic-sre/medic/internal/slack/notify"
)

// interaction handles a block_actions payload: an Approve or Reject click.
func (h *Handler) interaction(ctx context.Context, payload string) error {
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return fmt.Errorf("chatops: interaction payload: %w", err)
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		h.log().Info("chatops: interaction ignored", "type", string(cb.Type))
		return nil
	}
	handled := false
	for _, act := range cb.ActionCallback.BlockActions {
		if act.ActionID != ActionApprove && act.ActionID != ActionReject {
			continue
		}
		handled = true
		if msg := h.click(ctx, cb, act); msg != nil {
			return h.respond(ctx, cb.ResponseURL, msg)
		}
	}
	if !handled {
		h.log().Info("chatops: block_actions without a Medic button ignored", "user", cb.User.ID)
	}
	return nil
}

// click decides one approval; a non-nil message is an explanation for the
// clicker only (the original message keeps its buttons).
func (h *Handler) click(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) *slack.WebhookMessage {
	if h.Approvals == nil {
		return refusal(":no_entry: Approvals are not available in this deployment.")
	}
	var t ticket
	if err := json.Unmarshal([]byte(act.Value), &t); err != nil || t.Token == "" {
		return refusal(":warning: This approval button is malformed; ask for the request again.")
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	c := choice{
		req: t.request(), approve: act.ActionID == ActionApprove, userName: cb.User.Name,
		who: h.who(ctx, cb.User.ID, channel, len(t.Approvers) > 0), channel: channel, ts: ts,
	}
	if _, err := h.Approvals.decide(ctx, c); err != nil {
		return refusal(":no_entry: " + err.Error()) // our own text, with mentions
	}
	return nil
}

// refusal is an ephemeral answer that leaves the clicked message alone.
func refusal(text string) *slack.WebhookMessage {
	m := ephemeral(text)
	m.ReplaceOriginal = false
	return m
}

// decideByCommand handles `/medic approve|reject <execution> [reason]`.
func (a *Approvals) decideByCommand(ctx context.Context, req request) *slack.WebhookMessage {
	a.init()
	p, ok, err := a.Pending.Get(ctx, req.ID)
	if err != nil {
		return ephemeral(":warning: Looking up the approval request failed: " + notify.Escape(err.Error()))
	}
	if !ok {
		return ephemeral(fmt.Sprintf(":grey_question: Execution `%s` has no open approval request here.", notify.Escape(req.ID)))
	}
	c := choice{req: p.ApprovalRequest, approve: req.Kind == command.Approve, who: req.Who, userName: req.UserName,
		comment: req.Comment, channel: p.Channel, ts: p.TS}
	d, err := a.decide(ctx, c)
	if err != nil {
		return ephemeral(":no_entry: " + err.Error()) // our own text, with mentions
	}
	return ephemeral(fmt.Sprintf("Recorded: %s `%s` for execution `%s`.", d.Decision, notify.Escape(d.Action), notify.Escape(d.Execution)))
}
