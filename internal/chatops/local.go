package chatops

import (
	"errors"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/verify"
	"github.com/medic-sre/medic/internal/state"
)

// ApprovalFunction is the function name approval steps invoke
// (lambda:invoke.waitForTaskToken); locally it is registered under it.
const ApprovalFunction = "medic-approval"

// LocalParts are what `medic serve` already has.
type LocalParts struct {
	Secrets secrets.Slack // secrets.FromEnv(os.Getenv)
	Config  *access.Config
	Packs   *pack.Set
	// Engine starts chat runs (StartAction), as rules start theirs; pass
	// serve's *engine.Engine. When nil, one is built over Starter and
	// Settings (the fields serve passed before Engine existed).
	Engine   Engine
	Starter  engine.Starter
	Settings action.Settings
	// State is the store consolidation keeps its state in. Silences and
	// alerts are read and written there (the very silences the
	// consolidator applies), and so are threads, pending approvals and
	// the replay cache. When nil, the State of Engine's Consolidator is
	// used; without either, those live in memory and `silence` and
	// `alerts` (firing part) are unavailable.
	State      state.Store
	Executions ExecutionReader
	Tokens     *asl.TokenHub
	Silences   Silences // overrides the store over State
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
	eng := p.Engine
	if eng == nil {
		eng = &engine.Engine{Packs: p.Packs, Starter: p.Starter, Settings: p.Settings, Log: p.Log}
	}
	st := p.State
	if e, ok := eng.(*engine.Engine); ok && st == nil && e.Consolidator != nil {
		st = e.Consolidator.State
	}
	groups := &SlackGroups{API: api}
	n := &notify.Notifier{API: api, Channel: p.Config.Channel, Result: AliasResults{Packs: p.Packs}.Result, Log: p.Log}
	a := &Approvals{API: api, Channel: p.Config.Channel, Notifier: n, Access: p.Config, Tasks: LocalTasks{Hub: p.Tokens}, Groups: groups, Log: p.Log}
	h := &Handler{
		Verifier: verifier, Access: p.Config, Packs: p.Packs, Executions: p.Executions, Silences: p.Silences,
		Approvals: a, Groups: groups, Log: p.Log, Runner: EngineRunner{Engine: eng},
	}
	if st != nil {
		Shared(h, st)
	}
	return &Local{Handler: h, Notifier: n, Approvals: a}, nil
}

// Shared puts the handler's state in st, the store consolidation uses:
// silences (unless set) and alerts, the replay cache, the jobs done,
// threads and pending approvals. The Lambda and `medic serve` both call it, so every instance
// and both functions see the same state.
func Shared(h *Handler, st state.Store) {
	if h.Silences == nil {
		h.Silences = &silence.Store{State: st}
	}
	h.Alerts = &dispatch.Consolidator{State: st}
	h.Verifier.WithReplayCache(verify.StateCache{State: st})
	h.Jobs = StateJobs{State: st}
	if h.Approvals != nil {
		h.Approvals.Pending = StatePending{State: st}
		if n := h.Approvals.Notifier; n != nil {
			n.Threads = notify.StateThreads{State: st}
		}
	}
	if h.Notifier != nil {
		h.Notifier.Threads = notify.StateThreads{State: st}
	}
}
