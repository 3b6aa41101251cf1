package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/asl/aslmock"
	"github.com/medic-sre/medic/internal/asl/jsonorder"
)

func init() {
	register(command{name: "workflow", summary: "run a state machine locally on mocked tasks: workflow run DEF --input FILE [--mocks FILE]", run: runWorkflow})
}

const workflowUsage = `Usage: medic workflow run DEFINITION [--input FILE] [--mocks FILE] [--context FILE] [--trace]
                       [--test-case [MACHINE/]CASE] [--name EXECUTION] [--real-time]
                       [--subst NAME=VALUE ...]

Runs an ASL state machine (statemachines/*.asl.json) in Medic's interpreter.
Task states are answered from --mocks (Medic's format or a Step Functions
Local MockConfigFile, see docs/asl.md); a task with no mock fails with
States.TaskFailed. Waits, retry backoff and timeouts use virtual time unless
--real-time is given. --subst replaces ${NAME} in the definition, like the
DefinitionSubstitutions of the deployed stack.

Prints the output JSON and exits 0; on failure prints {"error":..,"cause":..}
and exits 1; bad usage or an invalid definition/mocks file exits 2.
`

// workflowRun holds the flags of "workflow run".
type workflowRun struct {
	input, mocks, context, testCase, name string
	trace, realTime                       bool
	subst                                 substitutions
}

// substitutions collects repeated --subst NAME=VALUE flags.
type substitutions map[string]string

func (s substitutions) String() string { return fmt.Sprint(map[string]string(s)) }

func (s substitutions) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	s[name] = value
	return nil
}

// apply replaces each ${NAME} in the definition.
func (s substitutions) apply(def []byte) []byte {
	for name, value := range s {
		def = bytes.ReplaceAll(def, []byte("${"+name+"}"), []byte(value))
	}
	return def
}

func runWorkflow(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprint(stderr, workflowUsage)
		return 2
	}
	o := workflowRun{subst: substitutions{}}
	fs := flag.NewFlagSet("workflow run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, workflowUsage) }
	fs.StringVar(&o.input, "input", "", "JSON file with the execution input (default {})")
	fs.StringVar(&o.mocks, "mocks", "", "JSON file answering Task states")
	fs.StringVar(&o.context, "context", "", "JSON file with context object ($$) fields to add or override")
	fs.StringVar(&o.testCase, "test-case", "", "test case of a Step Functions Local mocks file, as CASE or MACHINE/CASE")
	fs.StringVar(&o.name, "name", "local-run", "execution name ($$.Execution.Name)")
	fs.BoolVar(&o.trace, "trace", false, "print every state entered and left, with its input/output, to stderr")
	fs.BoolVar(&o.realTime, "real-time", false, "wait for real instead of on a virtual clock")
	fs.Var(o.subst, "subst", "NAME=VALUE: replace ${NAME} in the definition (repeatable)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "medic workflow run: want exactly one DEFINITION file, got %d\n\n%s", len(pos), workflowUsage)
		return 2
	}
	return o.run(pos[0], stdout, stderr)
}

func (o *workflowRun) run(defPath string, stdout, stderr io.Writer) int {
	machine, input, opts, err := o.load(defPath)
	if err != nil {
		fmt.Fprintf(stderr, "medic workflow run: %v\n", err)
		return 2
	}
	if o.trace {
		opts.Observer = traceTo(stderr)
	}
	out, err := machine.Run(context.Background(), input, opts)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	var aerr *asl.Error
	switch {
	case err == nil:
		// Objects keep their key order, as Step Functions shows an output.
		b, err := jsonorder.MarshalIndent(out, "", "  ")
		if err != nil {
			enc.Encode(map[string]string{"error": "Medic.InternalError", "cause": err.Error()})
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	case errors.As(err, &aerr):
		enc.Encode(map[string]string{"error": aerr.Name, "cause": aerr.Cause})
	default:
		enc.Encode(map[string]string{"error": "Medic.InternalError", "cause": err.Error()})
	}
	return 1
}

// load reads every file named on the command line, so all mistakes are
// reported before anything runs.
func (o *workflowRun) load(defPath string) (*asl.Machine, any, asl.Options, error) {
	opts := asl.Options{ExecutionName: o.name, MachineName: machineName(defPath)}
	def, err := os.ReadFile(defPath)
	if err != nil {
		return nil, nil, opts, err
	}
	machine, err := asl.Parse(o.subst.apply(def))
	if err != nil {
		return nil, nil, opts, fmt.Errorf("%s: %w", defPath, indentErrors(err))
	}
	var input any = map[string]any{}
	if o.input != "" {
		if input, err = readJSONFile(o.input); err != nil {
			return nil, nil, opts, err
		}
	}
	if o.context != "" {
		ctxVal, err := readJSONFile(o.context)
		if err != nil {
			return nil, nil, opts, err
		}
		obj, ok := ctxVal.(map[string]any)
		if !ok {
			return nil, nil, opts, fmt.Errorf("%s: the context file must hold a JSON object", o.context)
		}
		opts.Context = obj
	}
	if o.mocks != "" {
		data, err := os.ReadFile(o.mocks)
		if err != nil {
			return nil, nil, opts, err
		}
		sel := aslmock.Selection{TestCase: o.testCase}
		if m, c, ok := strings.Cut(o.testCase, "/"); ok {
			sel = aslmock.Selection{Machine: m, TestCase: c}
		}
		mocks, err := aslmock.Parse(data, sel)
		if err != nil {
			return nil, nil, opts, fmt.Errorf("%s: %w", o.mocks, err)
		}
		opts.Tasks = mocks
	} else {
		opts.Tasks = aslmock.None()
	}
	if !o.realTime {
		opts.Clock = asl.NewVirtualClock(time.Now().UTC().Truncate(time.Second))
	}
	return machine, input, opts, nil
}

// machineName is the file name without .asl.json: the state machine's name.
func machineName(path string) string {
	base := filepath.Base(path)
	for _, ext := range []string{".asl.json", ".json"} {
		if trimmed, ok := strings.CutSuffix(base, ext); ok {
			return trimmed
		}
	}
	return base
}

func readJSONFile(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := jsonorder.Unmarshal(data) // key order matters to States.JsonToString
	if err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %v", path, err)
	}
	return v, nil
}

// indentErrors puts each of several definition problems on its own line.
func indentErrors(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return errors.New("\n  " + strings.ReplaceAll(msg, "\n", "\n  "))
}

// traceTo prints a readable line per interpreter event.
func traceTo(w io.Writer) func(asl.Event) {
	compact := func(v any) string {
		b, _ := jsonorder.Marshal(v)
		if len(b) > 2000 {
			return string(b[:2000]) + "…"
		}
		return string(b)
	}
	return func(ev asl.Event) {
		at := ev.Time.Format("15:04:05")
		switch ev.Type {
		case asl.StateEntered:
			fmt.Fprintf(w, "%s → %s input=%s\n", at, ev.State, compact(ev.Input))
		case asl.StateExited:
			fmt.Fprintf(w, "%s ← %s output=%s\n", at, ev.State, compact(ev.Output))
			if len(ev.Assigned) > 0 {
				fmt.Fprintf(w, "%s   %s assigned %s\n", at, ev.State, compact(ev.Assigned))
			}
		case asl.TaskScheduled:
			fmt.Fprintf(w, "%s   %s task input=%s\n", at, ev.State, compact(ev.Input))
		case asl.TaskSucceeded:
			fmt.Fprintf(w, "%s   %s task result=%s\n", at, ev.State, compact(ev.Output))
		case asl.TaskFailed, asl.StateRetried, asl.StateCaught, asl.ExecutionFailed:
			fmt.Fprintf(w, "%s   %s %s %s: %s\n", at, ev.State, ev.Type, ev.Error.Name, ev.Error.Cause)
		case asl.ExecutionStarted, asl.ExecutionSucceeded:
			fmt.Fprintf(w, "%s %s\n", at, ev.Type)
		}
	}
}
