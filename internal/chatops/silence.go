package chatops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/chatops/command"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/slack/notify"
)

// Silences is the silence store chatops manages. *silence.Store has it:
// give the Handler the consolidator's own store
// (dispatch.Consolidator.Silences(), or silence.Store{State: ...} over the
// same state), so a silence added in Slack is the one consolidation
// applies, in `medic serve` and in the Lambda alike.
type Silences interface {
	Add(ctx context.Context, s silence.Silence) (silence.Silence, error)
	List(ctx context.Context) ([]silence.Silence, error)
	Expire(ctx context.Context, id string) (silence.Silence, error)
}

var _ Silences = (*silence.Store)(nil)

func (h *Handler) silence(ctx context.Context, req request) *slack.WebhookMessage {
	if h.Silences == nil {
		return ephemeral(":no_entry: Silences are not available in this deployment.")
	}
	if req.Kind != command.SilenceList {
		if err := h.Access.CanSilence(req.Who); err != nil {
			return ephemeral(":no_entry: " + err.Error())
		}
	}
	switch req.Kind {
	case command.SilenceAdd:
		return h.addSilence(ctx, req)
	case command.SilenceExpire:
		s, err := h.Silences.Expire(ctx, req.ID)
		if err != nil {
			return ephemeral(fmt.Sprintf(":warning: Expiring silence `%s` failed: %s", notify.Escape(req.ID), notify.Escape(err.Error())))
		}
		return inChannel("silence expired", section(fmt.Sprintf(":loud_sound: %s expired silence `%s` (%s)",
			notify.MentionUser(req.Who.User), notify.Escape(s.ID), matchers(s.Matchers))))
	}
	return h.listSilences(ctx)
}

func (h *Handler) addSilence(ctx context.Context, req request) *slack.WebhookMessage {
	now := h.now()
	s, err := h.Silences.Add(ctx, silence.Silence{Matchers: req.Matchers, StartsAt: now, EndsAt: now.Add(req.Duration),
		CreatedBy: req.Who.User, Comment: req.Comment})
	if err != nil {
		return ephemeral(":warning: Adding the silence failed: " + notify.Escape(err.Error()))
	}
	h.log().Info("chatops: silence added", "id", s.ID, "by", req.Who.User, "matchers", s.Matchers.String(), "ends", s.EndsAt)
	return inChannel("silence added", section(fmt.Sprintf(":mute: %s silenced %s for %s (until %s), id `%s`%s",
		notify.MentionUser(req.Who.User), matchers(s.Matchers), req.Duration, s.EndsAt.UTC().Format("Jan 2 15:04 MST"), notify.Escape(s.ID), reason(s.Comment))))
}

// listSilences shows the silences not yet ended (the store keeps expired
// ones listable for a day; chat shows what mutes alerts now or later).
func (h *Handler) listSilences(ctx context.Context) *slack.WebhookMessage {
	list, err := h.Silences.List(ctx)
	if err != nil {
		return ephemeral(":warning: Listing silences failed: " + notify.Escape(err.Error()))
	}
	now := h.now()
	lines := []string{"*Silences*"}
	for _, s := range list {
		if s.State(now) == "expired" {
			continue
		}
		lines = append(lines, fmt.Sprintf("• `%s` %s %s until %s by %s%s", notify.Escape(s.ID), s.State(now), matchers(s.Matchers),
			s.EndsAt.UTC().Format("Jan 2 15:04 MST"), notify.MentionUser(s.CreatedBy), reason(s.Comment)))
	}
	if len(lines) == 1 {
		return ephemeral(":loud_sound: No active silences.")
	}
	return ephemeral("Silences", section(strings.Join(lines, "\n")))
}

func matchers(ms alert.Matchers) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = "`" + notify.Escape(m.String()) + "`"
	}
	return strings.Join(parts, " ")
}

func reason(comment string) string {
	if comment == "" {
		return ""
	}
	return ": _" + notify.Escape(comment) + "_"
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}
