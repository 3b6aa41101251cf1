package chatops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/slack/notify"
)

// ApprovalRequest is the Payload a workflow's
// lambda:invoke.waitForTaskToken step sends:
//
//	"Payload": {"token.$": "$$.Task.Token", "execution.$": "$$.Execution.Name",
//	            "action": "linux.free_disk", "params.$": "$.params", "approvers": ["S0SRE"]}
type ApprovalRequest struct {
	Token     string         `json:"token"`
	Execution string         `json:"execution"`
	Action    string         `json:"action"`
	Params    map[string]any `json:"params,omitempty"`
	// Approvers narrows who may decide (user or group IDs); empty: the
	// approve grants of chatops.yaml alone decide.
	Approvers []string `json:"approvers,omitempty"`
}

// Validate names the first missing field.
func (r ApprovalRequest) Validate() error {
	switch {
	case r.Token == "":
		return errors.New("approval request: token is required (pass $$.Task.Token)")
	case r.Execution == "":
		return errors.New("approval request: execution is required (pass $$.Execution.Name)")
	case r.Action == "":
		return errors.New("approval request: action is required")
	}
	return nil
}

// TaskCompleter resumes a waiting task: SendTaskSuccess/Failure in AWS, the
// TokenHub locally.
type TaskCompleter interface {
	Succeed(ctx context.Context, token string, output any) error
	Fail(ctx context.Context, token, errName, cause string) error
}

// Decision is what gets recorded: the task output of an approval, the cause
// (as JSON) of a rejection.
type Decision struct {
	Approved  bool      `json:"approved"`
	Decision  string    `json:"decision"` // approved | rejected
	By        string    `json:"by"`       // Slack user ID
	ByName    string    `json:"by_name,omitempty"`
	Channel   string    `json:"channel"`
	At        time.Time `json:"at"`
	Comment   string    `json:"comment,omitempty"`
	Execution string    `json:"execution"`
	Action    string    `json:"action"`
}

// ErrRejected is the error name a rejection fails the task with; workflows
// Catch it.
const ErrRejected = "Medic.ApprovalRejected"

// Button action IDs.
const (
	ActionApprove = "medic_approve"
	ActionReject  = "medic_reject"
)

// maxButtonValue is Slack's limit on a button value.
const maxButtonValue = 2000

// Pending remembers open approval requests by execution, for `/medic
// approve <execution>` and for updating the request message. Buttons carry
// their request in their value and work without it. MemoryPending serves
// one process; StatePending shares them through the state store (the
// DynamoDB table in AWS).
type Pending interface {
	Put(ctx context.Context, p PendingApproval) error
	Get(ctx context.Context, execution string) (PendingApproval, bool, error)
	Delete(ctx context.Context, execution string) error
}

// PendingApproval is an open request and where it was posted.
type PendingApproval struct {
	ApprovalRequest
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// MemoryPending is an in-process Pending.
type MemoryPending struct {
	mu sync.Mutex
	m  map[string]PendingApproval
}

func (m *MemoryPending) Put(_ context.Context, p PendingApproval) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]PendingApproval{}
	}
	m.m[p.Execution] = p
	return nil
}

func (m *MemoryPending) Get(_ context.Context, id string) (PendingApproval, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.m[id]
	return p, ok, nil
}

func (m *MemoryPending) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}

// Approvals posts approval requests and records decisions.
type Approvals struct {
	API      notify.API
	Channel  string
	Notifier *notify.Notifier // optional: requests go into the execution's thread
	Access   *access.Config
	Tasks    TaskCompleter
	Pending  Pending       // nil: an in-process MemoryPending
	Groups   GroupResolver // for approvers naming groups
	Now      func() time.Time
	Log      *slog.Logger

	once sync.Once
}

func (a *Approvals) init() {
	a.once.Do(func() {
		if a.Pending == nil {
			a.Pending = &MemoryPending{}
		}
	})
}

// Request posts Approve/Reject buttons for a waiting task. Its signature is
// localtask.Function's, so `medic serve` registers it as the approval
// function; the chatops Lambda calls it for Step Functions' invocation.
func (a *Approvals) Request(ctx context.Context, payload any) (any, error) {
	a.init()
	var req ApprovalRequest
	raw, err := json.Marshal(payload)
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		return nil, fmt.Errorf("approval request: %w", err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	value, err := json.Marshal(req.ticket())
	if err != nil || len(value) > maxButtonValue {
		return nil, fmt.Errorf("approval request for %s: the button value would be %d bytes, over Slack's %d", req.Execution, len(value), maxButtonValue)
	}
	channel, opts := a.Channel, []slack.MsgOption{slack.MsgOptionText(notify.Escape("Approval needed: "+req.Action+" in "+req.Execution), false),
		slack.MsgOptionBlocks(RequestBlocks(req, string(value))...)}
	if a.Notifier != nil {
		if t, ok := a.Notifier.Thread(req.Execution); ok {
			channel = t.Channel
			opts = append(opts, slack.MsgOptionTS(t.TS))
		}
	}
	ch, ts, err := a.API.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return nil, fmt.Errorf("approval request for %s: posting to Slack: %w", req.Execution, err)
	}
	if err := a.Pending.Put(ctx, PendingApproval{ApprovalRequest: req, Channel: ch, TS: ts}); err != nil {
		// The buttons carry the request, so they still work; only
		// `/medic approve <execution>` will not find it.
		a.log().Error("approval: remembering the request failed", "execution", req.Execution, "err", err)
	}
	a.log().Info("approval requested", "execution", req.Execution, "action", req.Action, "channel", ch)
	return map[string]any{"requested": true, "channel": ch, "ts": ts}, nil
}

// ticket is what a button carries: everything needed to decide, since the
// click may reach another process (Lambda) than the one that posted.
type ticket struct {
	Token     string   `json:"t"`
	Execution string   `json:"e"`
	Action    string   `json:"a"`
	Approvers []string `json:"p,omitempty"`
}

func (r ApprovalRequest) ticket() ticket {
	return ticket{Token: r.Token, Execution: r.Execution, Action: r.Action, Approvers: r.Approvers}
}

func (t ticket) request() ApprovalRequest {
	return ApprovalRequest{Token: t.Token, Execution: t.Execution, Action: t.Action, Approvers: t.Approvers}
}

// RequestBlocks renders the approval request with its two buttons.
func RequestBlocks(req ApprovalRequest, value string) []slack.Block {
	text := fmt.Sprintf(":raising_hand: *Approval needed*: execution `%s` wants to run `%s`", notify.Escape(req.Execution), notify.Escape(req.Action))
	if len(req.Params) > 0 {
		p, _ := json.Marshal(req.Params)
		text += "\nParameters: `" + notify.Escape(notify.Truncate(string(p), 1000)) + "`"
	}
	blocks := []slack.Block{section(text)}
	if len(req.Approvers) > 0 {
		blocks = append(blocks, slack.NewContextBlock("approvers",
			slack.NewTextBlockObject(slack.MarkdownType, "Approvers: "+mentions(req.Approvers), false, false)))
	}
	approve := slack.NewButtonBlockElement(ActionApprove, value, slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary)
	reject := slack.NewButtonBlockElement(ActionReject, value, slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)).WithStyle(slack.StyleDanger)
	reject.Confirm = slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, "Reject?", false, false),
		slack.NewTextBlockObject(slack.MarkdownType, "The workflow will fail with "+ErrRejected+".", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
	return append(blocks, slack.NewActionBlock("medic_approval", approve, reject))
}

// mentions renders user (U…/W…) and group (S…) IDs as Slack mentions.
func mentions(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if strings.HasPrefix(id, "S") {
			out[i] = notify.MentionGroup(id)
		} else {
			out[i] = notify.MentionUser(id)
		}
	}
	return strings.Join(out, " ")
}

// choice is one decision being made.
type choice struct {
	req      ApprovalRequest
	approve  bool
	who      access.Who
	userName string
	comment  string
	// where the request message is, to replace its buttons
	channel, ts string
}

// decide checks the grant, resumes the task and records the decision. The
// error is for the person who clicked: a refusal or a task that is gone.
func (a *Approvals) decide(ctx context.Context, c choice) (Decision, error) {
	a.init()
	if err := a.allowed(ctx, c); err != nil {
		a.log().Info("approval refused", "execution", c.req.Execution, "user", c.who.User, "reason", err.Error())
		return Decision{}, err
	}
	d := Decision{Approved: c.approve, Decision: "rejected", By: c.who.User, ByName: c.userName, Channel: c.who.Channel,
		At: a.now().UTC(), Comment: c.comment, Execution: c.req.Execution, Action: c.req.Action}
	var err error
	if c.approve {
		d.Decision = "approved"
		err = a.Tasks.Succeed(ctx, c.req.Token, d)
	} else {
		cause, _ := json.Marshal(d)
		err = a.Tasks.Fail(ctx, c.req.Token, ErrRejected, string(cause))
	}
	if err != nil {
		return Decision{}, fmt.Errorf("execution %s is no longer waiting for a decision (already decided, timed out or stopped): %s", notify.Escape(c.req.Execution), notify.Escape(err.Error()))
	}
	if err := a.Pending.Delete(ctx, c.req.Execution); err != nil {
		a.log().Error("approval: forgetting the decided request failed", "execution", c.req.Execution, "err", err)
	}
	a.log().Info("approval decided", "execution", d.Execution, "action", d.Action, "decision", d.Decision, "by", d.By)
	a.record(ctx, c, d)
	return d, nil
}

func (a *Approvals) allowed(ctx context.Context, c choice) error {
	if err := a.Access.CanApprove(c.req.Action, c.who); err != nil {
		return err
	}
	if len(c.req.Approvers) == 0 || slices.Contains(c.req.Approvers, c.who.User) {
		return nil
	}
	groups := c.who.Groups
	if groups == nil && a.Groups != nil {
		groups, _ = a.Groups.UserGroups(ctx, c.who.User)
	}
	for _, g := range groups {
		if slices.Contains(c.req.Approvers, g) {
			return nil
		}
	}
	return fmt.Errorf("%s is not among the approvers of execution %s (%s)", notify.MentionUser(c.who.User), notify.Escape(c.req.Execution), mentions(c.req.Approvers))
}

// record replaces the buttons with the decision and says it in the thread.
func (a *Approvals) record(ctx context.Context, c choice, d Decision) {
	icon := ":white_check_mark:"
	if !d.Approved {
		icon = ":no_entry_sign:"
	}
	text := fmt.Sprintf("%s %s *%s* `%s` for execution `%s` at %s%s", icon, notify.MentionUser(d.By), d.Decision, notify.Escape(d.Action), notify.Escape(d.Execution),
		d.At.Format("15:04:05 MST"), reason(d.Comment))
	if c.channel != "" && c.ts != "" {
		if _, _, _, err := a.API.UpdateMessageContext(ctx, c.channel, c.ts, slack.MsgOptionText(text, false),
			slack.MsgOptionBlocks(section(text))); err != nil {
			a.log().Error("slack: updating the approval message failed", "execution", d.Execution, "err", err)
		}
	}
	if a.Notifier != nil {
		if _, ok := a.Notifier.Thread(d.Execution); ok {
			a.Notifier.Reply(d.Execution, text, section(text))
		}
	}
}

func (a *Approvals) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Approvals) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}
