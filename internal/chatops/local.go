package chatops

import (
	"errors"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/verify"
)

// ApprovalFunction is the function name approval steps invoke
// (lambda:invoke.waitForTaskToken); locally it is registered under it.
const ApprovalFunction = "medic-approval"

// LocalParts are what `medic serve` already has.
type LocalParts struct {
	Secrets    secrets.Slack // secrets.FromEnv(os.Getenv)
	Config     *access.Config
	Packs      *pack.Set
	Starter    engine.Starter
	Settings   action.Settings
	Executions ExecutionReader
	Tokens     *asl.TokenHub
	Silences   Silences // nil until the silence store is adapted
	APIURL     string   // "" = Slack; tests point it at a fake
	Log        *slog.Logger
}

// Local is the Slack app inside `medic serve`.
type Local struct {
	Handler   *Handler
	Notifier  *notify.Notifier
	Approvals *Approvals
}

// ErrNoSlack means the secrets are not set: serve without Slack.
var ErrNoSlack = errors.New("chatops: MEDIC_SLACK_BOT_TOKEN and MEDIC_SLACK_SIGNING_SECRET are not both set")

// NewLocal composes the app over the local parts. Jobs run in goroutines
// and approvals resume tasks through the TokenHub.
func NewLocal(p LocalParts) (*Local, error) {
	if p.Secrets.BotToken.Empty() || p.Secrets.SigningSecret.Empty() {
		return nil, ErrNoSlack
	}
	verifier, err := verify.New(p.Secrets.SigningSecret.Reveal(), 0, nil)
	if err != nil {
		return nil, err
	}
	opts := []slack.Option{}
	if p.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(p.APIURL))
	}
	api := slack.New(p.Secrets.BotToken.Reveal(), opts...)
	groups := &SlackGroups{API: api}
	n := &notify.Notifier{API: api, Channel: p.Config.Channel, Log: p.Log}
	a := &Approvals{API: api, Channel: p.Config.Channel, Notifier: n, Access: p.Config, Tasks: LocalTasks{Hub: p.Tokens}, Groups: groups, Log: p.Log}
	h := &Handler{
		Verifier: verifier, Access: p.Config, Packs: p.Packs, Executions: p.Executions, Silences: p.Silences,
		Approvals: a, Groups: groups, Log: p.Log,
		Runner: &ActionStarter{Packs: p.Packs, Starter: p.Starter, Settings: p.Settings},
	}
	return &Local{Handler: h, Notifier: n, Approvals: a}, nil
}
