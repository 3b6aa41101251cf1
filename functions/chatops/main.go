// Command chatops is Medic's Slack app as a Lambda behind a function URL:
// slash commands, button clicks, its own asynchronous jobs, Step
// Functions' approval requests and execution status changes. It only
// wires adapters; internal/chatops decides.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/medic-sre/medic/internal/chatops/lambdaapp"
	"github.com/medic-sre/medic/internal/lambdaenv"
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
	sfnClient, lambdaClient := lambdaapp.Clients(cfg)
	app, err := lambdaapp.FromEnv(os.Getenv, lambdaapp.Parts{Secrets: sec, State: table, SFN: sfnClient, Lambda: lambdaClient, Log: log})
	if err != nil {
		lambdaenv.Exit(log, "chatops setup", err)
	}
	lambda.Start(app.Invoke)
}
