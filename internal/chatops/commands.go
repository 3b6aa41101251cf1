package chatops

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/chatops/command"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/slack/notify"
)

// request is one slash command invocation.
type request struct {
	command.Command
	Slash       string // "/medic"
	Who         access.Who
	UserName    string
	ResponseURL string
	// Key identifies the invocation (requestKey): runs are named after it.
	Key string
}

func (h *Handler) command(ctx context.Context, form url.Values, key string) error {
	cmd, err := command.Parse(form.Get("text"))
	req := request{Command: cmd, Slash: form.Get("command"), UserName: form.Get("user_name"), ResponseURL: form.Get("response_url"), Key: key}
	if req.Slash == "" {
		req.Slash = "/medic"
	}
	var msg *slack.WebhookMessage
	if err != nil {
		msg = ephemeral(":grey_question: " + notify.Escape(err.Error()))
	} else {
		req.Who = h.who(ctx, form.Get("user_id"), form.Get("channel_id"), false)
		msg = h.answer(ctx, req)
	}
	h.log().Info("chatops command", "user", req.Who.User, "channel", req.Who.Channel, "kind", string(cmd.Kind), "reply", msg.ResponseType)
	return h.respond(ctx, req.ResponseURL, msg)
}

func (h *Handler) answer(ctx context.Context, req request) *slack.WebhookMessage {
	switch req.Kind {
	case command.Help:
		return h.help(req.Slash)
	case command.Status:
		return h.status(req.ID)
	case command.Alerts:
		return h.alerts(ctx)
	case command.SilenceAdd, command.SilenceList, command.SilenceExpire:
		return h.silence(ctx, req)
	case command.Approve, command.Reject:
		if h.Approvals == nil {
			return ephemeral(":no_entry: Approvals are not available in this deployment.")
		}
		return h.Approvals.decideByCommand(ctx, req)
	}
	return h.run(ctx, req)
}

// help lists every alias format of the packs, then the built-in commands.
func (h *Handler) help(slash string) *slack.WebhookMessage {
	var lines []string
	for _, al := range h.Packs.Aliases() {
		if !al.Enabled {
			continue
		}
		for _, f := range al.Formats {
			display := f.Display
			if display == "" && len(f.Representations) > 0 {
				display = f.Representations[0]
			}
			line := fmt.Sprintf("• `%s %s` → `%s`", slash, notify.Escape(display), al.ActionRef)
			if al.Description != "" {
				line += " — " + notify.Escape(al.Description)
			}
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	text := "*Actions* (from the packs' aliases)\n"
	if len(lines) == 0 {
		text += "_no aliases are defined in the packs_"
	} else {
		text += strings.Join(lines, "\n")
	}
	text += "\n*Also*\n" + notify.Escape(strings.ReplaceAll(command.Usage, "/medic", slash))
	return ephemeral("Medic help", section(text))
}

func (h *Handler) status(id string) *slack.WebhookMessage {
	if h.Executions == nil {
		return ephemeral(":no_entry: Execution status is not available in this deployment.")
	}
	rec, err := h.Executions.Get(id)
	switch {
	case errors.Is(err, execution.ErrNotFound):
		return ephemeral(fmt.Sprintf(":grey_question: No execution `%s`. `/medic alerts` lists recent ones.", notify.Escape(id)))
	case err != nil:
		return ephemeral(":warning: Reading execution failed: " + notify.Escape(err.Error()))
	}
	var b strings.Builder
	execution.Render(&b, rec)
	head := fmt.Sprintf("%s `%s` is *%s*", notify.Emoji(rec.Status), notify.Escape(rec.ID), rec.Status)
	return ephemeral(head, section(head), section("```"+notify.Escape(notify.Truncate(b.String(), 2800))+"```"))
}

// maxAlerts is how many alerts and recent executions `alerts` lists.
const maxAlerts = 10

// AlertReader lists the alerts consolidation tracks;
// *dispatch.Consolidator has it (over the same state as the ingest path).
type AlertReader interface {
	Alerts(ctx context.Context) ([]dispatch.Record, error)
}

var _ AlertReader = (*dispatch.Consolidator)(nil)

// alerts shows what fires now (from the consolidator's state) and the most
// recent executions, whichever of the two this deployment can read.
func (h *Handler) alerts(ctx context.Context) *slack.WebhookMessage {
	if h.Alerts == nil && h.Executions == nil {
		return ephemeral(":no_entry: Alerts are not available in this deployment.")
	}
	var blocks []slack.Block
	if h.Alerts != nil {
		text, err := h.firing(ctx)
		if err != nil {
			return ephemeral(":warning: Listing alerts failed: " + notify.Escape(err.Error()))
		}
		blocks = append(blocks, section(text))
	}
	if h.Executions != nil {
		text, err := h.recent()
		if err != nil {
			return ephemeral(":warning: Listing executions failed: " + notify.Escape(err.Error()))
		}
		blocks = append(blocks, section(text))
	}
	return ephemeral("Alerts", blocks...)
}

// firing lists the firing alerts, newest first, marking silenced ones.
func (h *Handler) firing(ctx context.Context) (string, error) {
	all, err := h.Alerts.Alerts(ctx)
	if err != nil {
		return "", err
	}
	var firing []dispatch.Record
	for _, a := range all {
		if a.Status == alert.Firing {
			firing = append(firing, a)
		}
	}
	if len(firing) == 0 {
		return fmt.Sprintf(":sunny: Nothing is firing (%d alert(s) known, all resolved or unknown).", len(all)), nil
	}
	sort.Slice(firing, func(i, j int) bool { return firing[i].Since.After(firing[j].Since) })
	var silences []silence.Silence
	if h.Silences != nil {
		silences, _ = h.Silences.List(ctx) // a failure only loses the marks
	}
	now := h.now()
	lines := []string{fmt.Sprintf("*Firing* (%d of %d known alerts)", len(firing), len(all))}
	for _, a := range firing[:min(maxAlerts, len(firing))] {
		line := fmt.Sprintf(":rotating_light: *%s* `%s` since %s · seen %d×", notify.Escape(a.Labels[alert.LabelName]),
			notify.Escape(alert.Summary(a.Labels)), a.Since.UTC().Format("Jan 2 15:04 MST"), a.Count)
		for _, s := range silences {
			if s.Active(now) && s.Matchers.Matches(a.Labels) {
				line += fmt.Sprintf(" · :mute: silenced by `%s`", notify.Escape(s.ID))
				break
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), nil
}

// recent lists the newest executions and the alert each handled.
func (h *Handler) recent() (string, error) {
	recs, err := h.Executions.List()
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return ":sunny: No executions yet.", nil
	}
	lines := []string{"*Recent executions* (newest first)"}
	for _, rec := range recs[:min(maxAlerts, len(recs))] {
		what := rec.Trigger.Type
		for _, s := range rec.Timeline {
			if s.Kind == "alert" {
				what = s.Name
				break
			}
		}
		if what == "" {
			what = rec.StateMachine
		}
		lines = append(lines, fmt.Sprintf("%s *%s* %s → `%s` · `%s` · %s", notify.Emoji(rec.Status), notify.Escape(what),
			notify.Escape(rec.Rule), notify.Escape(rec.Action), notify.Escape(rec.ID), rec.Started.UTC().Format("Jan 2 15:04 MST")))
	}
	return strings.Join(lines, "\n"), nil
}
