// Package app composes Medic's parts. Local is `medic serve`: the whole
// path in one process on embedded defaults.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/server"
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
}

// NotifyFunction is the name the state machines' ${NotifyFunctionArn}
// resolves to locally.
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
	lib, err := workflow.LoadLibrary(cfg.MachinesDir, map[string]string{"NotifyFunctionArn": NotifyFunction})
	if err != nil {
		return nil, err
	}
	execs, err := execution.OpenFileStore(filepath.Join(cfg.StateDir, "executions"))
	if err != nil {
		return nil, err
	}
	store, err := kv.OpenLocal(filepath.Join(cfg.StateDir, "kv"))
	if err != nil {
		return nil, err
	}
	console := &console{out: cfg.Out}
	tokens := asl.NewTokenHub()
	starter := &workflow.LocalStarter{
		Library: lib,
		Tasks: &localtask.Handler{
			SSM:       &localtask.SSM{Dir: cfg.WorkDir},
			Functions: map[string]localtask.Function{NotifyFunction: console.notify},
		},
		Store:   execs,
		Tokens:  tokens,
		Clock:   cfg.Clock,
		Log:     cfg.Log,
		OnStart: console.start,
		OnStep:  console.step,
		OnDone:  console.done,
	}
	eng := &engine.Engine{
		Rules:    rule.NewIndex(packs.Rules()),
		Packs:    packs,
		KV:       store,
		Starter:  starter,
		Settings: action.Settings{PollSeconds: cfg.PollSeconds},
		Log:      cfg.Log,
	}
	return &Local{
		Engine:     eng,
		Starter:    starter,
		Executions: execs,
		KV:         store,
		Tokens:     tokens,
		Packs:      packs,
		Server:     &server.Server{Engine: eng, Executions: execs, Log: cfg.Log},
	}, nil
}

// console prints timelines as executions progress: the local stand-in for
// the Slack thread.
type console struct {
	mu  sync.Mutex
	out io.Writer
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
