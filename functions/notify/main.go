// Command notify is the Lambda state machines invoke as ${NotifyFunctionArn}:
// it posts escalations and workflow notifications into the execution's
// Slack thread, opening it when needed. Threads live in the state table,
// shared with the chatops function. It only wires; the rendering is
// internal/slack/notify's.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/lambdaenv"
	"github.com/medic-sre/medic/internal/slack/notify"
)

func main() {
	ctx := context.Background()
	cfg, log, err := lambdaenv.Load(ctx)
	if err != nil {
		lambdaenv.Exit(log, "aws config", err)
	}
	sec, err := lambdaenv.SlackSecrets(ctx, cfg, os.Getenv)
	if err != nil {
		lambdaenv.Exit(log, "slack secrets", err)
	}
	table, err := lambdaenv.Table(cfg, os.Getenv)
	if err != nil {
		lambdaenv.Exit(log, "state table", err)
	}
	n := &notify.Notifier{API: slack.New(sec.BotToken.Reveal()), Channel: os.Getenv("MEDIC_SLACK_CHANNEL"),
		Threads: notify.StateThreads{State: table}, Log: log}
	lambda.Start(n.Notify)
}
