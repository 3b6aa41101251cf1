// Command infra is Medic's CDK app: `cdk synth` (see cdk.json) runs it.
// It needs no AWS credentials; the stack is environment-agnostic unless
// CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION are set.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/medic-sre/medic/infra/stack"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "medic infra:", err)
		jsii.Close()
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	cfg, err := stack.ConfigFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return err
	}
	root := os.Getenv("MEDIC_ASSET_ROOT") // cdk runs the app from the repository root
	if root == "" {
		root = "."
	}
	if _, err := stack.New(app, cfg.StackName, stack.Props{
		StackProps: awscdk.StackProps{Env: env(), Description: jsii.String("Medic: self-healing ChatOps for AWS")},
		AssetRoot:  root,
		Config:     cfg,
	}); err != nil {
		return err
	}
	stack.AddNag(app)
	app.Synth(nil)
	return nil
}

// env pins the stack to CDK_DEFAULT_ACCOUNT/REGION when both are set;
// otherwise it stays environment-agnostic (an empty account would panic).
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
