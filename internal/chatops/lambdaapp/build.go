package lambdaapp

import (
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/awssfn"
	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/chatops/sfnexec"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/ingest"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/verify"
	"github.com/medic-sre/medic/internal/state"
)

// Environment of the chatops function (set by the CDK stack).
const (
	EnvConfig       = "MEDIC_CHATOPS_CONFIG"     // chatops.yaml beside bootstrap
	EnvFunctionName = "AWS_LAMBDA_FUNCTION_NAME" // set by Lambda
	EnvChannel      = "MEDIC_SLACK_CHANNEL"      // the notify function's channel
)

// Parts are what the function is composed of; FromEnv fills them from the
// environment, tests from fakes.
type Parts struct {
	Secrets secrets.Slack
	State   state.Store // the table: silences, alerts, threads, approvals, replays
	SFN     interface {
		awssfn.API
		sfnexec.API
		chatops.TaskTokenAPI
	}
	Lambda   InvokeAPI
	SlackURL string // "" = Slack; tests point it at a fake
	Log      *slog.Logger
}

// FromEnv composes the function: packs and state machines as the ingest
// function reads them, chatops.yaml, then Build.
func FromEnv(getenv func(string) string, p Parts) (*App, error) {
	settings, err := ingest.SettingsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	packs, err := pack.LoadDir(settings.PacksDir)
	if err != nil {
		return nil, err
	}
	confPath := getenv(EnvConfig)
	if confPath == "" {
		confPath = "config/chatops.yaml"
	}
	conf, err := access.Load(confPath)
	if err != nil {
		return nil, err
	}
	fn := getenv(EnvFunctionName)
	if fn == "" {
		return nil, fmt.Errorf("%s is not set: the function cannot dispatch jobs to itself", EnvFunctionName)
	}
	app, err := Build(p, packs, conf, settings, fn)
	if err == nil {
		p.Log.Info("chatops ready", "config", confPath, "channel", conf.Channel, "aliases", len(packs.Aliases()), "secrets", p.Secrets)
	}
	return app, err
}

// Build wires the handler: Step Functions to start, read and resume
// executions, the table for everything shared between instances and with
// the notify function, Lambda to dispatch jobs to itself.
func Build(p Parts, packs *pack.Set, conf *access.Config, settings ingest.Settings, functionName string) (*App, error) {
	verifier, err := verify.New(p.Secrets.SigningSecret.Reveal(), 0, nil)
	if err != nil {
		return nil, err
	}
	if p.State == nil {
		return nil, fmt.Errorf("chatops: no state table (MEDIC_TABLE_NAME): threads, approvals, silences and replays must be shared")
	}
	var opts []slack.Option
	if p.SlackURL != "" {
		opts = append(opts, slack.OptionAPIURL(p.SlackURL))
	}
	api := slack.New(p.Secrets.BotToken.Reveal(), opts...)
	groups := &chatops.SlackGroups{API: api}
	n := &notify.Notifier{API: api, Channel: conf.Channel, Result: chatops.AliasResults{Packs: packs}.Result, Log: p.Log}
	approvals := &chatops.Approvals{API: api, Channel: conf.Channel, Access: conf, Tasks: chatops.SFNTasks{API: p.SFN},
		Groups: groups, Notifier: n, Log: p.Log}
	// Chat runs take the guard's leases in the table the ingest function
	// keeps them in; ingest releases them when the execution ends.
	eng := &engine.Engine{Packs: packs, Settings: action.Settings{PollSeconds: settings.PollSeconds}, Log: p.Log,
		Starter:      &awssfn.Starter{API: p.SFN, Machines: settings.StateMachines, Log: p.Log},
		Consolidator: &dispatch.Consolidator{State: p.State, Inhibit: packs.InhibitRules()}}
	runs := &chatops.Runs{State: p.State}
	execs := chatops.CompletedExecutions{Executions: &sfnexec.Reader{API: p.SFN, Machines: settings.StateMachines}, Runs: *runs}
	h := &chatops.Handler{
		Verifier: verifier, Access: conf, Packs: packs, Approvals: approvals, Groups: groups, Log: p.Log,
		Runner: chatops.EngineRunner{Engine: eng, Runs: runs, Log: p.Log}, Executions: execs, Notifier: n,
		Dispatch: SelfDispatcher{API: p.Lambda, FunctionName: functionName},
	}
	chatops.Shared(h, p.State)
	app := New(h, approvals)
	app.Executions, app.Notifier = execs, n
	return app, nil
}

// Clients are the real AWS clients of Parts.
func Clients(cfg aws.Config) (*sfn.Client, *lambda.Client) {
	return sfn.NewFromConfig(cfg), lambda.NewFromConfig(cfg)
}
