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
	env := lambdaenv.LoadSlack(context.Background())
	sfnClient, lambdaClient := lambdaapp.Clients(env.Config)
	app, err := lambdaapp.FromEnv(os.Getenv, lambdaapp.Parts{Secrets: env.Secrets, State: env.Table, SFN: sfnClient, Lambda: lambdaClient, Log: env.Log})
	if err != nil {
		lambdaenv.Exit(env.Log, "chatops setup", err)
	}
	lambda.Start(app.Invoke)
}
