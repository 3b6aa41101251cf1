package chatops

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/template"
)

// Alias messages, as StackStorm's action aliases have them:
//
//	ack:    {enabled, format, append_url}  rendered when the run starts
//	result: {enabled, format, extra}       rendered when it ends
//
// Formats are Jinja, rendered with `execution` (id, action.ref, status,
// parameters, result, error, cause, start_timestamp, end_timestamp,
// elapsed_seconds) and `actionalias` (ref, name, pack, action_ref,
// description), the names st2 uses. `extra` (st2's chat-adapter extras)
// is parsed and ignored: Medic's messages are Block Kit.

// ack answers a started run: the alias's ack format when it has one,
// Medic's own line otherwise; ack disabled tells only the requester.
func (h *Handler) ack(al *pack.Alias, rec *execution.Record, req request) *slack.WebhookMessage {
	id := notify.Escape(rec.ID)
	status := fmt.Sprintf("`%s status %s`", notify.Escape(req.Slash), id)
	if !al.Ack.Enabled {
		return ephemeral(fmt.Sprintf(":arrow_forward: Started execution `%s` (%s)", id, status))
	}
	text := fmt.Sprintf(":arrow_forward: %s started `%s` → execution `%s` (%s)", notify.MentionUser(req.Who.User), notify.Escape(al.ActionRef), id, status)
	if al.Ack.Format != "" {
		rendered, err := renderAliasFormat(al, "ack", rec)
		if err != nil {
			h.log().Warn("chatops: alias ack format", "alias", al.Ref, "err", err)
			text += "\n:warning: " + notify.Escape(err.Error())
		} else {
			text = notify.Escape(rendered)
			if al.Ack.AppendURL {
				text += "\n" + status
			}
		}
	}
	return inChannel(text, section(text))
}

// AliasResults renders the result format of the alias a chat run came
// from; Notifier.Result takes its Result method, so the outcome is posted
// in the execution's thread when the run ends.
type AliasResults struct{ Packs *pack.Set }

// Result implements the Notifier.Result hook.
func (r AliasResults) Result(rec *execution.Record) (string, bool) {
	if !rec.Status.Done() {
		return "", false
	}
	al := r.aliasOf(rec)
	if al == nil || !al.Result.Enabled || al.Result.Format == "" {
		return "", false
	}
	text, err := renderAliasFormat(al, "result", rec)
	if err != nil {
		return ":warning: " + notify.Escape(err.Error()), true
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", false
	}
	return notify.Escape(text), true
}

// aliasOf finds the alias of a chat run: the trigger says it when the
// record is the one the run started with; a record rebuilt from Step
// Functions (no trigger) is matched by its execution name, which is
// deterministic in the alias.
func (r AliasResults) aliasOf(rec *execution.Record) *pack.Alias {
	if r.Packs == nil {
		return nil
	}
	ref, _ := rec.Trigger.Payload["alias"].(string)
	for _, al := range r.Packs.Aliases() {
		if rec.Trigger.Type == TriggerType && al.Ref == ref {
			return al
		}
		if ref == "" && sameNamePrefix(rec.ID, ExecutionName(al.Ref, "")) {
			return al
		}
	}
	return nil
}

// sameNamePrefix compares two execution names without their hash suffix.
func sameNamePrefix(a, b string) bool {
	i, j := strings.LastIndexByte(a, '-'), strings.LastIndexByte(b, '-')
	return i > 0 && j > 0 && a[:i] == b[:j]
}

func renderAliasFormat(al *pack.Alias, field string, rec *execution.Record) (string, error) {
	src := al.Ack.Format
	if field == "result" {
		src = al.Result.Format
	}
	t, err := template.Compile(src)
	if err == nil {
		var out string
		if out, err = t.RenderString(template.Context{Vars: aliasVars(al, rec)}); err == nil {
			return out, nil
		}
	}
	return "", fmt.Errorf("cannot render %q in field %q of alias %s: %v", "format", field, al.Ref, err)
}

// aliasVars is what alias formats see, with st2's names.
func aliasVars(al *pack.Alias, rec *execution.Record) map[string]any {
	ex := map[string]any{
		"id":              rec.ID,
		"action":          map[string]any{"ref": rec.Action},
		"status":          st2Status(rec.Status),
		"parameters":      rec.Params,
		"result":          rec.Output,
		"error":           rec.Error,
		"cause":           rec.Cause,
		"start_timestamp": rec.Started.UTC().Format(time.RFC3339),
	}
	if !rec.Stopped.IsZero() {
		ex["end_timestamp"] = rec.Stopped.UTC().Format(time.RFC3339)
		ex["elapsed_seconds"] = rec.Stopped.Sub(rec.Started).Seconds()
	}
	return map[string]any{
		"execution": ex,
		"actionalias": map[string]any{"ref": al.Ref, "name": al.Name, "pack": al.Pack,
			"action_ref": al.ActionRef, "description": al.Description},
	}
}

// st2Status maps Step Functions statuses to st2's lower-case ones, so
// `{% if execution.status == 'succeeded' %}` works as in StackStorm.
func st2Status(s execution.Status) string {
	switch s {
	case "":
		return "requested"
	case execution.TimedOut:
		return "timeout"
	case execution.Aborted:
		return "canceled"
	}
	return strings.ToLower(string(s))
}
