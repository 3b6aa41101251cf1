// Command chatops is Medic's Slack app as a Lambda behind a function URL:
// slash commands, button clicks, its own asynchronous jobs and Step
// Functions' approval requests. It only wires adapters; internal/chatops
// decides.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/medic-sre/medic/internal/chatops/lambdaapp"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	app, err := lambdaapp.FromEnv(ctx, cfg, os.Getenv, log)
	if err != nil {
		log.Error("chatops setup", "err", err)
		os.Exit(1)
	}
	lambda.Start(app.Invoke)
}
