// Command notify is the Lambda state machines invoke as ${NotifyFunctionArn}:
// it posts escalations and workflow notifications to the Slack channel. It
// only wires: the bot token comes from Parameter Store, the rendering from
// internal/slack/notify.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops/lambdaapp"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/secrets"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	sec, err := secrets.FromSSM(ctx, ssm.NewFromConfig(cfg), os.Getenv(lambdaapp.EnvBotTokenParam), os.Getenv(lambdaapp.EnvSigningSecretParam))
	if err != nil {
		log.Error("slack secrets", "err", err)
		os.Exit(1)
	}
	n := &notify.Notifier{API: slack.New(sec.BotToken.Reveal()), Channel: os.Getenv("MEDIC_SLACK_CHANNEL"), Log: log}
	lambda.Start(n.Notify)
}
