package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/awssfn"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
)

func init() {
	register(command{name: "run", summary: "run one action now (st2 run): medic run PACK.ACTION key=value ... [--aws]", run: runAction})
}

// runFlags are `medic run`'s settings beyond the local composition's.
type runFlags struct {
	local       localFlags
	aws         bool
	arns        string
	timeout     time.Duration
	outputS3    string
	outputLogs  string
	awsPollSecs int
}

func runAction(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: medic run [flags] PACK.ACTION [key=value ...]\n\nValues are cast to the action's parameter types; objects and lists are JSON.")
		fs.PrintDefaults()
	}
	var rf runFlags
	rf.local.bind(fs)
	fs.BoolVar(&rf.aws, "aws", false, "run in the deployed stack (Step Functions) instead of locally")
	fs.StringVar(&rf.arns, "state-machine-arns", "", "JSON file mapping state machine names to ARNs (default: env MEDIC_STATE_MACHINES, a JSON object)")
	fs.DurationVar(&rf.timeout, "timeout", 30*time.Minute, "give up waiting after this long")
	fs.StringVar(&rf.outputS3, "output-s3-bucket", envOr("MEDIC_OUTPUT_S3_BUCKET", ""), "S3 bucket for full SSM command output (--aws)")
	fs.StringVar(&rf.outputLogs, "output-log-group", envOr("MEDIC_OUTPUT_LOG_GROUP", ""), "CloudWatch Logs group for full SSM command output (--aws)")
	fs.IntVar(&rf.awsPollSecs, "aws-poll-seconds", 5, "seconds between status polls (--aws: inside the workflow and of DescribeExecution)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return 2
	}
	ref := fs.Arg(0)
	given, err := parseKeyValues(fs.Args()[1:])
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), rf.timeout)
	defer cancel()
	if rf.aws {
		return runInAWS(ctx, rf, ref, given, stdout, stderr)
	}
	return runLocally(ctx, rf, ref, given, stdout, stderr)
}

// parseKeyValues reads st2-style key=value arguments. A value that looks
// like a JSON object or list is decoded, so object and array parameters can
// be given; everything else stays a string for ResolveParams to cast.
func parseKeyValues(args []string) (map[string]any, error) {
	out := map[string]any{}
	for _, arg := range args {
		key, val, ok := strings.Cut(arg, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("argument %q: want key=value", arg)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("parameter %q given twice", key)
		}
		var v any = val
		if t := strings.TrimSpace(val); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			if err := json.Unmarshal([]byte(t), &v); err != nil {
				return nil, fmt.Errorf("parameter %q: value is not valid JSON: %v", key, err)
			}
		}
		out[key] = v
	}
	return out, nil
}

// runName names a run from the command line: unique per invocation.
func runName(ref string, now time.Time) string {
	return engine.ExecutionName("run."+ref, now.Format(time.RFC3339Nano))
}

// usageError is a refusal of what was asked (exit 2): an unknown action or
// bad parameters, before anything started.
type usageError struct{ error }

// start resolves and starts the action through the engine, as a rule's
// match would be.
func start(ctx context.Context, e *engine.Engine, ref string, given map[string]any) (*execution.Record, error) {
	if _, ok := e.Packs.Action(ref); !ok {
		return nil, usageError{fmt.Errorf("action %q not found (try `medic pack validate` to list problems)", ref)}
	}
	rec, _, err := e.StartAction(ctx, engine.Run{Name: runName(ref, time.Now()), Action: ref, Params: given})
	if err != nil && rec == nil {
		return nil, usageError{err} // refused before starting: the parameters
	}
	return rec, err
}

func exitCode(err error) int {
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

func runLocally(ctx context.Context, rf runFlags, ref string, given map[string]any, stdout, stderr io.Writer) int {
	local, err := rf.local.open(stdout, newLogger(stderr, "error"))
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return 1
	}
	rec, err := start(ctx, local.Engine, ref, given)
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return exitCode(err)
	}
	local.Starter.Wait() // the console prints the timeline as it happens
	if got, err := local.Executions.Get(rec.ID); err != nil || got.Status != execution.Succeeded {
		return 1
	}
	return 0
}

// arnStarter starts on Step Functions and keeps the execution's ARN, which
// the command then watches.
type arnStarter struct {
	*awssfn.Starter
	arn string
}

func (s *arnStarter) Start(ctx context.Context, rec *execution.Record, input any) error {
	arn, err := s.StartNamed(ctx, rec.StateMachine, rec.ID, input)
	s.arn = arn
	return err
}

func runInAWS(ctx context.Context, rf runFlags, ref string, given map[string]any, stdout, stderr io.Writer) int {
	machines, err := stateMachineARNs(rf.arns)
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return 2
	}
	packs, err := pack.LoadDir(rf.local.packs)
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return 2
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "medic run: AWS configuration:", err)
		return 1
	}
	client := sfn.NewFromConfig(cfg)
	starter := &arnStarter{Starter: &awssfn.Starter{API: client, Machines: machines}}
	e := &engine.Engine{Packs: packs, Starter: starter, Log: newLogger(stderr, "error"),
		Settings: action.Settings{PollSeconds: rf.awsPollSecs, OutputS3Bucket: rf.outputS3, CloudWatchLogGroup: rf.outputLogs}}
	rec, err := start(ctx, e, ref, given)
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return exitCode(err)
	}
	arn := starter.arn
	fmt.Fprintf(stdout, "── execution %s (state machine %s)\n   %s\n", rec.ID, rec.StateMachine, arn)
	// The timeline: history events as they arrive, then the outcome.
	var seen int64
	printHistory := func() {
		steps, last, err := awssfn.History(ctx, client, arn, seen)
		if err != nil {
			fmt.Fprintln(stderr, "medic run:", err)
			return
		}
		seen = last
		for _, s := range steps {
			execution.RenderStep(stdout, rec.Started, s)
		}
	}
	w := &awssfn.Watcher{API: client, Poll: time.Duration(rf.awsPollSecs) * time.Second, OnPoll: func(awssfn.Outcome) { printHistory() }}
	o, err := w.Wait(ctx, arn)
	if err != nil {
		fmt.Fprintln(stderr, "medic run:", err)
		return 1
	}
	printHistory()
	return reportOutcome(stdout, o)
}

func reportOutcome(stdout io.Writer, o awssfn.Outcome) int {
	fmt.Fprintf(stdout, "── execution ended: %s after %s\n", o.Status, o.Stop.Sub(o.Start).Round(time.Second))
	if o.Error != "" {
		fmt.Fprintf(stdout, "   %s: %s\n", o.Error, o.Cause)
	}
	if o.Output != nil {
		b, _ := json.MarshalIndent(o.Output, "   ", "  ")
		fmt.Fprintf(stdout, "   output: %s\n", b)
	}
	if o.Status != "SUCCEEDED" {
		return 1
	}
	return 0
}

// stateMachineARNs reads the name → ARN map from a file or from the
// environment (MEDIC_STATE_MACHINES, as the deployed Lambdas get it).
func stateMachineARNs(path string) (map[string]string, error) {
	var raw []byte
	source := "MEDIC_STATE_MACHINES"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		raw, source = b, path
	} else {
		raw = []byte(os.Getenv("MEDIC_STATE_MACHINES"))
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, errors.New("--aws needs the deployed state machine ARNs: --state-machine-arns FILE or env MEDIC_STATE_MACHINES (JSON: {\"run-command\": \"arn:aws:states:...\"})")
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of state machine name to ARN: %v", source, err)
	}
	return m, nil
}
