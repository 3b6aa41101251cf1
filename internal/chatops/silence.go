package chatops

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops/command"
	"github.com/medic-sre/medic/internal/slack/notify"
)

// Silence mutes alerts whose labels equal all Matchers between Starts and
// Ends. It is the shape chatops needs; the silence package (consolidation)
// is adapted to the Silences interface by the composition.
type Silence struct {
	ID        string            `json:"id"`
	Matchers  map[string]string `json:"matchers"`
	Starts    time.Time         `json:"starts"`
	Ends      time.Time         `json:"ends"`
	CreatedBy string            `json:"created_by"`
	Comment   string            `json:"comment,omitempty"`
}

// Silences is the adapter point to the silence store.
type Silences interface {
	// Add stores s (ID empty) and returns it with its ID.
	Add(ctx context.Context, s Silence) (Silence, error)
	// List returns the silences not yet ended.
	List(ctx context.Context) ([]Silence, error)
	// Expire ends a silence now.
	Expire(ctx context.Context, id string) error
}

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
		now := time.Now()
		s, err := h.Silences.Add(ctx, Silence{Matchers: req.Matchers, Starts: now, Ends: now.Add(req.Duration),
			CreatedBy: req.Who.User, Comment: req.Comment})
		if err != nil {
			return ephemeral(":warning: Adding the silence failed: " + notify.Escape(err.Error()))
		}
		return inChannel("silence added", section(fmt.Sprintf(":mute: <@%s> silenced %s for %s (until %s), id `%s`%s",
			req.Who.User, matchers(s.Matchers), req.Duration, s.Ends.UTC().Format("Jan 2 15:04 MST"), s.ID, reason(s.Comment))))
	case command.SilenceExpire:
		if err := h.Silences.Expire(ctx, req.ID); err != nil {
			return ephemeral(fmt.Sprintf(":warning: Expiring silence `%s` failed: %s", notify.Escape(req.ID), notify.Escape(err.Error())))
		}
		return inChannel("silence expired", section(fmt.Sprintf(":loud_sound: <@%s> expired silence `%s`", req.Who.User, notify.Escape(req.ID))))
	}
	list, err := h.Silences.List(ctx)
	if err != nil {
		return ephemeral(":warning: Listing silences failed: " + notify.Escape(err.Error()))
	}
	if len(list) == 0 {
		return ephemeral(":loud_sound: No active silences.")
	}
	lines := []string{"*Active silences*"}
	for _, s := range list {
		lines = append(lines, fmt.Sprintf("• `%s` %s until %s by <@%s>%s", s.ID, matchers(s.Matchers),
			s.Ends.UTC().Format("Jan 2 15:04 MST"), s.CreatedBy, reason(s.Comment)))
	}
	return ephemeral("Active silences", section(strings.Join(lines, "\n")))
}

func matchers(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, "`"+notify.Escape(k+"="+v)+"`")
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func reason(comment string) string {
	if comment == "" {
		return ""
	}
	return ": _" + notify.Escape(comment) + "_"
}
