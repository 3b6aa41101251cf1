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
	env := lambdaenv.LoadSlack(context.Background())
	n := &notify.Notifier{API: slack.New(env.Secrets.BotToken.Reveal()), Channel: os.Getenv("MEDIC_SLACK_CHANNEL"),
		Threads: notify.StateThreads{State: env.Table}, Log: env.Log}
	lambda.Start(n.Notify)
}
