// Package lambdaenv is the wiring every Medic Lambda main repeats: the AWS
// configuration and a JSON logger, the Slack secrets, the state table.
// Mains stay a few lines: Load, build, lambda.Start.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/dynamo"
)

// EnvTable names the state table (set by the stack for UseTable).
const EnvTable = "MEDIC_TABLE_NAME"

// Load returns the default AWS configuration (the function's role and
// region) and a JSON logger on stderr, which Lambda ships to CloudWatch.
func Load(ctx context.Context) (aws.Config, *slog.Logger, error) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, log, fmt.Errorf("aws config: %w", err)
	}
	return cfg, log, nil
}

// SlackSecrets reads the bot token and signing secret: from Secrets
// Manager (MEDIC_SLACK_*_SECRET ARNs), else Parameter Store
// (MEDIC_SLACK_*_PARAM names), else the environment. The values are
// secrets.Secret: they log as [redacted].
func SlackSecrets(ctx context.Context, cfg aws.Config, getenv func(string) string) (secrets.Slack, error) {
	return secrets.Lookup(ctx, secretsmanager.NewFromConfig(cfg), ssm.NewFromConfig(cfg), getenv)
}

// Table is the state store on the DynamoDB table MEDIC_TABLE_NAME.
func Table(cfg aws.Config, getenv func(string) string) (state.Store, error) {
	name := getenv(EnvTable)
	if name == "" {
		return nil, fmt.Errorf("%s is not set: the function needs the state table", EnvTable)
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg), name, nil), nil
}

// Slack is what the Slack-facing functions (chatops, notify) are wired
// from: the AWS configuration, the logger, the Slack secrets and the
// state table they share threads and approvals in.
type Slack struct {
	Config  aws.Config
	Log     *slog.Logger
	Secrets secrets.Slack
	Table   state.Store
}

// LoadSlack loads all of Slack, or ends the process naming what failed
// (see Exit).
func LoadSlack(ctx context.Context) Slack {
	cfg, log, err := Load(ctx)
	if err != nil {
		Exit(log, "aws config", err)
	}
	sec, err := SlackSecrets(ctx, cfg, os.Getenv)
	if err != nil {
		Exit(log, "slack secrets", err)
	}
	table, err := Table(cfg, os.Getenv)
	if err != nil {
		Exit(log, "state table", err)
	}
	return Slack{Config: cfg, Log: log, Secrets: sec, Table: table}
}

// Exit logs a setup failure and ends the process: a Lambda that cannot
// wire itself should fail its init, visibly, rather than serve badly.
func Exit(log *slog.Logger, what string, err error) {
	log.Error(what, "err", err)
	os.Exit(1)
}
