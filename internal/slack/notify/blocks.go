package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/execution"
)

// maxText keeps a text object under Block Kit's 3000-character limit.
const maxText = 2900

// Escape makes text safe in mrkdwn: command output or alert payloads must
// not be able to mention @channel or forge links.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackID is the shape of Slack's user (U…, W…) and user group (S…) IDs
// (underscores too, as test fixtures spell them; none can end a mention).
var slackID = regexp.MustCompile(`^[A-Z0-9_]{2,32}$`)

// MentionUser renders a Slack user ID as a mention. Anything else (a name
// typed on the command line, a value from a payload) is shown as escaped
// text, so it can never become another mention or a link.
func MentionUser(id string) string {
	if slackID.MatchString(id) {
		return "<@" + id + ">"
	}
	return Escape(id)
}

// MentionGroup renders a Slack user group ID (S…) as a mention, anything
// else as escaped text.
func MentionGroup(id string) string {
	if slackID.MatchString(id) && strings.HasPrefix(id, "S") {
		return "<!subteam^" + id + ">"
	}
	return Escape(id)
}

// Truncate shortens s to n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, Truncate(s, maxText), false, false)
}

var statusEmoji = map[execution.Status]string{
	execution.Running:   ":hourglass_flowing_sand:",
	execution.Succeeded: ":white_check_mark:",
	execution.Failed:    ":x:",
	execution.TimedOut:  ":alarm_clock:",
	execution.Aborted:   ":no_entry_sign:",
}

// Emoji is the status marker used in every message.
func Emoji(s execution.Status) string {
	if e, ok := statusEmoji[s]; ok {
		return e
	}
	return ":grey_question:"
}

// alertOf returns the alert line of the timeline (the first "alert" step).
func alertOf(rec *execution.Record) execution.Step {
	for _, s := range rec.Timeline {
		if s.Kind == "alert" {
			return s
		}
	}
	if rec.Trigger.Type != "" {
		return execution.Step{Name: rec.Trigger.Type}
	}
	// A record rebuilt from Step Functions has no trigger; a header block
	// may not be empty.
	return execution.Step{Name: "Execution " + rec.ID}
}

// ParentText is the notification fallback of the parent message. The
// alert's name and the chat command are attacker-written: escaped, so
// "<!channel>" in an alarm name notifies no one.
func ParentText(rec *execution.Record) string {
	return Escape(fmt.Sprintf("%s %s: %s → %s [%s]", Emoji(rec.Status), alertOf(rec).Name, rec.Rule, rec.Action, rec.Status))
}

// ParentBlocks renders the parent message: the alert, what matched, the
// action and its parameters, the status, and the state the workflow is in.
func ParentBlocks(rec *execution.Record, now string) []slack.Block {
	alert := alertOf(rec)
	matched := rec.Rule
	if matched == "" {
		matched = "(started from chat)"
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Truncate(alert.Name, 140), true, false)),
		slack.NewSectionBlock(mrkdwn(Escape(alert.Detail)), []*slack.TextBlockObject{
			mrkdwn("*Status*\n" + Emoji(rec.Status) + " " + string(rec.Status)),
			mrkdwn("*Execution*\n`" + Escape(rec.ID) + "`"),
			mrkdwn("*Matched*\n" + Escape(matched)),
			mrkdwn("*Action*\n`" + Escape(rec.Action) + "` (workflow " + Escape(rec.StateMachine) + ")"),
		}, nil),
	}
	if params := paramsLine(rec.Params); params != "" {
		blocks = append(blocks, slack.NewContextBlock("params", mrkdwn("Parameters: "+params)))
	}
	line := "Started " + rec.Started.UTC().Format("15:04:05 MST")
	switch {
	case rec.Status.Done():
		line += " · ended after " + rec.Stopped.Sub(rec.Started).Round(time.Millisecond).String()
		if rec.Error != "" {
			line += " · " + Escape(rec.Error)
		}
	case now != "":
		line += " · now in *" + Escape(now) + "*"
	}
	blocks = append(blocks, slack.NewContextBlock("progress", mrkdwn(line)))
	return blocks
}

func paramsLine(params map[string]any) string {
	if len(params) == 0 {
		return ""
	}
	b, err := json.Marshal(params) // sorted keys, secrets already masked
	if err != nil {
		return ""
	}
	return "`" + Escape(Truncate(string(b), 600)) + "`"
}

// StepText is the fallback text of a thread reply.
func StepText(s execution.Step) string {
	return Escape(s.Kind + " " + s.Name)
}

// StepBlocks renders one timeline step as a thread reply: the name and,
// when there is one, its detail (a command's output) as a code block.
func StepBlocks(rec *execution.Record, s execution.Step) []slack.Block {
	head := fmt.Sprintf("*%s* `%s`", s.Kind, Escape(s.Name))
	if s.Kind == "outcome" {
		head = fmt.Sprintf("%s *%s*", Emoji(rec.Status), Escape(s.Name))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil)}
	if d := strings.TrimSpace(s.Detail); d != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("```"+Escape(Truncate(d, maxText-10))+"```"), nil, nil))
	}
	return blocks
}

// Notify is the notify Lambda's handler and its local stand-in (the
// ${NotifyFunctionArn} of the state machines): it posts a workflow's
// notification payload ({kind, execution, ...}) into the execution's
// thread, opening the thread with it when the execution has none yet (in
// AWS nothing else opens threads for rule-started runs). Its signature is
// localtask.Function's.
func (n *Notifier) Notify(ctx context.Context, payload any) (any, error) {
	payload = scrubPayload(payload) // before escaping: an escaped secret would no longer match
	m, _ := payload.(map[string]any)
	id, _ := m["execution"].(string)
	kind, _ := m["kind"].(string)
	if kind == "" {
		kind = "notification"
	}
	text := fmt.Sprintf(":loudspeaker: *%s*", Escape(kind))
	if kind == "escalation" {
		text = fmt.Sprintf(":sos: *Escalation*: the automatic fix did not pass verification after %v attempt(s) on `%v`; a human is needed.",
			Escape(fmt.Sprint(m["attempts"])), Escape(fmt.Sprint(m["target"])))
	}
	detail, _ := json.MarshalIndent(payload, "", "  ")
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil),
		slack.NewSectionBlock(mrkdwn("```"+Escape(Truncate(string(detail), maxText-10))+"```"), nil, nil)}
	n.init()
	if id != "" {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		if _, ok := n.thread(ctx, id); !ok {
			head := fmt.Sprintf("%s · execution `%s`", text, Escape(id))
			if _, ok := n.open(ctx, id, head, append([]slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil)}, blocks[1:]...)...); ok {
				return map[string]any{"delivered": true, "thread": "opened"}, nil
			}
		}
	}
	n.Reply(id, text, blocks...)
	return map[string]any{"delivered": true}, nil
}
