// Command ingest is the Lambda every alert arrives at: EventBridge rules,
// SNS subscriptions and CloudWatch alarm actions all invoke it, and so do
// the Scheduler (timer rules, the consolidation flush) and Step Functions'
// status changes. It only wires adapters; internal/ingest decides.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/awskv"
	"github.com/medic-sre/medic/internal/awssfn"
	"github.com/medic-sre/medic/internal/ingest"
	"github.com/medic-sre/medic/internal/lambdaenv"
	"github.com/medic-sre/medic/internal/metrics"
	"github.com/medic-sre/medic/internal/target"
)

func main() {
	cfg, log, err := lambdaenv.Load(context.Background())
	if err != nil {
		lambdaenv.Exit(log, "aws config", err)
	}
	settings, err := ingest.SettingsFromEnv(os.Getenv)
	if err != nil {
		lambdaenv.Exit(log, "settings", err)
	}
	table, err := lambdaenv.Table(cfg, os.Getenv)
	if err != nil {
		lambdaenv.Exit(log, "state table", err)
	}
	starter := &awssfn.Starter{API: sfn.NewFromConfig(cfg), Machines: settings.StateMachines, Log: log}
	datastore := &awskv.Store{API: ssm.NewFromConfig(cfg), Prefix: settings.KVPrefix}
	h, err := ingest.New(settings, starter, datastore, table, log)
	if err != nil {
		lambdaenv.Exit(log, "loading packs", err)
	}
	// CloudWatch Logs turns these stdout lines into the Medic metrics the
	// stack's dashboard and alarms use.
	h.CountWith(&metrics.EMF{Namespace: os.Getenv("MEDIC_METRICS_NAMESPACE"), Out: os.Stdout})
	// Prometheus alerts name an address, not an instance id: resolve it
	// with ec2:DescribeInstances, cached in this Lambda instance's memory.
	h.ResolveWith(&target.Cache{Next: &target.EC2{API: ec2.NewFromConfig(cfg)}})
	lambda.Start(h.Handle)
}
