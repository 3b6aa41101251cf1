// Command ingest is the Lambda every alert arrives at: EventBridge rules,
// SNS subscriptions and CloudWatch alarm actions all invoke it, and so do
// the consolidation flush schedule and Step Functions' status changes. It only
// wires adapters; internal/ingest decides.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/awskv"
	"github.com/medic-sre/medic/internal/awssfn"
	"github.com/medic-sre/medic/internal/ingest"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/dynamo"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	settings, err := ingest.SettingsFromEnv(os.Getenv)
	if err != nil {
		log.Error("settings", "err", err)
		os.Exit(1)
	}
	starter := &awssfn.Starter{API: sfn.NewFromConfig(cfg), Machines: settings.StateMachines, Log: log}
	datastore := &awskv.Store{API: ssm.NewFromConfig(cfg), Prefix: settings.KVPrefix}
	var consolidation state.Store
	if settings.TableName != "" {
		consolidation = dynamo.New(dynamodb.NewFromConfig(cfg), settings.TableName, nil)
	}
	h, err := ingest.New(settings, starter, datastore, consolidation, log)
	if err != nil {
		log.Error("loading packs", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
