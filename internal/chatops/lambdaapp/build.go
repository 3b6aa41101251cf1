package lambdaapp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/awssfn"
	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/ingest"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/verify"
)

// Environment of the chatops function (set by the CDK stack).
const (
	EnvBotTokenParam      = "MEDIC_SLACK_BOT_TOKEN_PARAM"      // SSM SecureString name
	EnvSigningSecretParam = "MEDIC_SLACK_SIGNING_SECRET_PARAM" // SSM SecureString name
	EnvConfig             = "MEDIC_CHATOPS_CONFIG"             // chatops.yaml beside bootstrap
	EnvFunctionName       = "AWS_LAMBDA_FUNCTION_NAME"         // set by Lambda
)

// FromEnv composes the function: secrets from SSM Parameter Store (or, when
// no parameter names are set, from MEDIC_SLACK_* variables), packs and
// state machines as the ingest function reads them, Step Functions to start
// and resume executions, Lambda to dispatch jobs to itself.
func FromEnv(ctx context.Context, cfg aws.Config, getenv func(string) string, log *slog.Logger) (*App, error) {
	sec, err := loadSecrets(ctx, ssm.NewFromConfig(cfg), getenv)
	if err != nil {
		return nil, err
	}
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
	verifier, err := verify.New(sec.SigningSecret.Reveal(), 0, nil)
	if err != nil {
		return nil, err
	}
	fn := getenv(EnvFunctionName)
	if fn == "" {
		return nil, fmt.Errorf("%s is not set: the function cannot dispatch jobs to itself", EnvFunctionName)
	}
	sfnClient := sfn.NewFromConfig(cfg)
	api := slack.New(sec.BotToken.Reveal())
	groups := &chatops.SlackGroups{API: api}
	approvals := &chatops.Approvals{
		API: api, Channel: conf.Channel, Access: conf, Tasks: chatops.SFNTasks{API: sfnClient}, Groups: groups, Log: log,
		// Threads and pending approvals live in memory: see docs/chatops.md.
		Notifier: &notify.Notifier{API: api, Channel: conf.Channel, Log: log},
	}
	h := &chatops.Handler{
		Verifier: verifier, Access: conf, Packs: packs, Approvals: approvals, Groups: groups, Log: log,
		Runner: &chatops.ActionStarter{Packs: packs, Settings: action.Settings{PollSeconds: settings.PollSeconds},
			Starter: &awssfn.Starter{API: sfnClient, Machines: settings.StateMachines, Log: log}},
		Dispatch: SelfDispatcher{API: lambda.NewFromConfig(cfg), FunctionName: fn},
	}
	log.Info("chatops ready", "config", confPath, "channel", conf.Channel, "aliases", len(packs.Aliases()), "secrets", sec)
	return New(h, approvals), nil
}

func loadSecrets(ctx context.Context, api secrets.ParameterAPI, getenv func(string) string) (secrets.Slack, error) {
	tokenParam, signingParam := getenv(EnvBotTokenParam), getenv(EnvSigningSecretParam)
	if tokenParam == "" && signingParam == "" {
		s := secrets.FromEnv(getenv)
		if s.BotToken.Empty() || s.SigningSecret.Empty() {
			return s, fmt.Errorf("set %s and %s (SSM parameter names), or %s and %s", EnvBotTokenParam, EnvSigningSecretParam,
				secrets.EnvBotToken, secrets.EnvSigningSecret)
		}
		return s, nil
	}
	return secrets.FromSSM(ctx, api, tokenParam, signingParam)
}
