// Package app composes Medic's parts. Local is `medic serve`: the whole
// path in one process on embedded defaults.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/action/httpfn"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/rejected"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/server"
	"github.com/medic-sre/medic/internal/server/apitoken"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/workflow"
)

// LocalConfig says where content and state live.
type LocalConfig struct {
	PacksDir    string // packs/
	MachinesDir string // statemachines/
	StateDir    string // .medic: executions, datastore
	PollSeconds int    // SSM poll interval inside workflows
	WorkDir     string // working directory for local commands
	Out         io.Writer
	Log         *slog.Logger
	Clock       asl.Clock // nil: real time
	// Slack, when both secrets are set, turns on the Slack app: /slack/
	// routes, threads per execution and approval buttons. Otherwise the
	// console stands in.
	Slack         secrets.Slack
	ChatopsConfig string // who may run, approve and silence what (config/chatops.yaml)
	SlackAPIURL   string // "" = slack.com; tests point it at a fake
}

// Local is a running composition.
type Local struct {
	Engine     *engine.Engine
	Starter    *workflow.LocalStarter
	Executions execution.Store
	KV         kv.Store
	Server     *server.Server
	Tokens     *asl.TokenHub
	Packs      *pack.Set
	// State holds consolidation (alerts, groups, silences, guard) as
	// files under the state directory.
	State *state.Local
	// Quarantine holds the state files found damaged.
	Quarantine *quarantine.Area
	// Rejected keeps the deliveries intake refused.
	Rejected *rejected.Store
}

// NotifyFunction is the local name ${NotifyFunctionArn} resolves to.
const NotifyFunction = "medic-notify"

// NewLocal loads packs and state machines and wires the local adapters.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	packs, err := pack.LoadDir(cfg.PacksDir)
	if err != nil {
		return nil, err
	}
	lib, err := workflow.LoadLibrary(cfg.MachinesDir, map[string]string{
		"NotifyFunctionArn":   NotifyFunction,
		"HttpFunctionArn":     httpfn.FunctionName,
		"ApprovalFunctionArn": chatops.ApprovalFunction,
	})
	if err != nil {
		return nil, err
	}
	// Damaged state files are set aside here instead of failing start-up
	// or every reader (see docs/reliability.md).
	quarantined := quarantine.ForStateDir(cfg.StateDir)
	quarantined.Log = cfg.Log
	execs, err := execution.OpenFileStore(filepath.Join(cfg.StateDir, "executions"))
	if err != nil {
		return nil, err
	}
	execs.Quarantine = quarantined
	store, err := kv.OpenLocal(filepath.Join(cfg.StateDir, "kv"))
	if err != nil {
		return nil, err
	}
	store.Quarantine = quarantined
	st, err := state.OpenStateDirWith(cfg.StateDir, quarantined)
	if err != nil {
		return nil, err
	}
	fleet, err := localtask.OpenFleet(cfg.StateDir) // the simulated EC2/Auto Scaling account
	if err != nil {
		return nil, err
	}
	account, err := localtask.OpenAccount(cfg.StateDir) // the other services the aws_* packs call
	if err != nil {
		return nil, err
	}
	apiToken, err := apitoken.Ensure(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	console := &console{out: cfg.Out, tokenFile: apitoken.Path(cfg.StateDir)}
	// The engine is told when an execution ends, to free its target and
	// feed the circuit breaker; it is built after the starter it uses.
	var eng *engine.Engine
	finished := func(rec *execution.Record) {
		console.done(rec)
		if err := eng.Finished(context.Background(), rec.ID, rec.Status == execution.Succeeded); err != nil {
			cfg.Log.Error("releasing the execution's target", "execution", rec.ID, "err", err)
		}
	}
	tokens := asl.NewTokenHub()
	tasks := server.NewTaskBoard(tokens)
	functions := map[string]localtask.Function{
		NotifyFunction:           console.notify,
		httpfn.FunctionName:      (&httpfn.Handler{}).Invoke,
		chatops.ApprovalFunction: console.approval,
	}
	starter := &workflow.LocalStarter{
		Library: lib,
		Tasks:   tasks.Watch(&localtask.Handler{SSM: &localtask.SSM{Dir: cfg.WorkDir}, Fleet: fleet, Account: account, Functions: functions}),
		Store:   execs,
		Tokens:  tokens,
		Clock:   cfg.Clock,
		Log:     cfg.Log,
		OnStart: console.start,
		OnStep:  console.step,
		OnDone:  finished,
		// Asking again and telling again are safe after a crash; see
		// workflow.Replayable.
		ReplaySafeFunctions: []string{NotifyFunction, chatops.ApprovalFunction},
	}
	eng = &engine.Engine{
		Rules:        rule.NewIndex(packs.Rules()),
		Packs:        packs,
		KV:           store,
		Starter:      starter,
		Settings:     action.Settings{PollSeconds: cfg.PollSeconds},
		Log:          cfg.Log,
		Consolidator: &dispatch.Consolidator{State: st, Inhibit: packs.InhibitRules(), Topology: packs.Topology()},
		Targets:      FleetTargets(fleet),
	}
	eng.Annotate = console.annotate(execs)
	refusals := &rejected.Store{Dir: filepath.Join(cfg.StateDir, rejected.Subdir)}
	srv := &server.Server{Engine: eng, Executions: execs, Tasks: tasks, APIToken: apiToken, Log: cfg.Log, Rejected: refusals}
	if !cfg.Slack.BotToken.Empty() || !cfg.Slack.SigningSecret.Empty() {
		if err := addSlack(cfg, packs, eng, execs, tokens, starter, functions, srv); err != nil {
			return nil, err
		}
	} else if srv.Approvers, err = httpApprovers(cfg.ChatopsConfig); err != nil {
		return nil, err
	}
	return &Local{
		Engine:     eng,
		Starter:    starter,
		Executions: execs,
		KV:         store,
		Tokens:     tokens,
		Packs:      packs,
		Server:     srv,
		State:      st,
		Quarantine: quarantined,
		Rejected:   refusals,
	}, nil
}

// console prints timelines as executions progress: the local stand-in for
// the Slack thread.
type console struct {
	mu        sync.Mutex
	out       io.Writer
	tokenFile string // the API token the approval hint sends
}

func (c *console) step(rec *execution.Record, s execution.Step) {
	if c.out == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	execution.RenderStep(c.out, rec.Started, s)
}

// start prints the steps recorded before the workflow ran: alert, rule,
// action.
func (c *console) start(rec *execution.Record) {
	if c.out == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "── execution %s (workflow %s)\n", rec.ID, rec.StateMachine)
	for _, s := range rec.Timeline {
		execution.RenderStep(c.out, rec.Started, s)
	}
}

func (c *console) done(rec *execution.Record) {
	if c.out == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "── execution %s ended: %s\n", rec.ID, rec.Status)
}

func (c *console) notify(_ context.Context, payload any) (any, error) {
	if c.out != nil {
		b, _ := json.Marshal(payload)
		c.mu.Lock()
		fmt.Fprintf(c.out, "   notify: %s\n", b)
		c.mu.Unlock()
	}
	return map[string]any{"delivered": true}, nil
}

// approval is the console stand-in for Slack's Approve/Reject buttons: it
// says how to answer, and the execution waits for the task token.
func (c *console) approval(_ context.Context, payload any) (any, error) {
	p, _ := payload.(map[string]any)
	if c.out != nil {
		c.mu.Lock()
		fmt.Fprintf(c.out, "   approval needed for %v on execution %v\n"+
			"     approve: medic tasks approve %v   (or curl -XPOST -H \"Authorization: Bearer $(cat %s)\" localhost:8080/v1/tasks/%v/success)\n"+
			"     reject:  medic tasks reject %v --comment why\n"+
			"     with a chatops config, say who decides: --as U… (header X-Medic-User), someone its approve grants allow\n",
			p["action"], p["execution"], p["token"], c.tokenFile, p["token"], p["token"])
		c.mu.Unlock()
	}
	return map[string]any{"posted": "console"}, nil
}

// addSlack puts the Slack app in front of the console: threads per
// execution, approval buttons, and the /slack/ routes.
func addSlack(cfg LocalConfig, packs *pack.Set, eng *engine.Engine, execs execution.Store, tokens *asl.TokenHub,
	starter *workflow.LocalStarter, functions map[string]localtask.Function, srv *server.Server) error {
	conf, err := access.Load(cfg.ChatopsConfig)
	if err != nil {
		return fmt.Errorf("slack is configured but %s could not be read: %w", cfg.ChatopsConfig, err)
	}
	sl, err := chatops.NewLocal(chatops.LocalParts{
		Secrets: cfg.Slack, Config: conf, Packs: packs, Engine: eng,
		Executions: execs, Tokens: tokens, APIURL: cfg.SlackAPIURL, Log: cfg.Log,
	})
	if err != nil {
		return err
	}
	onStart, onStep, onDone := starter.OnStart, starter.OnStep, starter.OnDone
	starter.OnStart = func(rec *execution.Record) { onStart(rec); sl.Notifier.OnStart(rec) }
	starter.OnStep = func(rec *execution.Record, s execution.Step) { onStep(rec, s); sl.Notifier.OnStep(rec, s) }
	starter.OnDone = func(rec *execution.Record) { onDone(rec); sl.Notifier.OnDone(rec) }
	annotate := eng.Annotate
	eng.Annotate = func(ctx context.Context, id string, s execution.Step) {
		annotate(ctx, id, s)
		sl.Notifier.Reply(id, notify.StepText(s)) // into the root's thread
	}
	functions[NotifyFunction] = sl.Notifier.Notify
	functions[chatops.ApprovalFunction] = sl.Approvals.Request
	srv.Slack = sl.Handler.Routes()
	srv.Approvers = sl.Approvals
	return nil
}

// httpApprovers holds approvals over HTTP to chatops.yaml's grants when
// the file exists, even with Slack off; without it (nil) only the local
// operator approves.
func httpApprovers(file string) (server.ApprovalGrants, error) {
	if file == "" {
		return nil, nil
	}
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	conf, err := access.Load(file)
	if err != nil {
		return nil, fmt.Errorf("approvals over HTTP follow %s, which could not be read: %w", file, err)
	}
	return &chatops.Approvals{Access: conf}, nil
}
