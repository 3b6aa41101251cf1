package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Source is how a function is invoked.
type Source int

const (
	// FromAlarms: the EventBridge rule for alarm state changes and the SNS
	// topic for alarm actions invoke it asynchronously (retries, DLQ).
	FromAlarms Source = iota
	// FromURL: a Lambda function URL (auth NONE; the handler verifies
	// Slack's request signature) invokes it synchronously.
	FromURL
	// FromSchedules: EventBridge Scheduler invokes it asynchronously, once
	// per firing of every timer rule in its packs and every minute to flush
	// consolidation groups. At most one function may receive schedules.
	FromSchedules
	// FromExecutionStatus: an EventBridge rule sends it the end (succeeded,
	// failed, timed out, aborted) of every execution of Medic's machines.
	FromExecutionStatus
)

// Use is a capability a function needs; each brings its environment
// variables and its IAM statements (see lambda.go).
type Use int

const (
	UsePacks          Use = iota // MEDIC_PACKS_DIR; packs/ must sit beside bootstrap
	UseWorkflows                 // MEDIC_STATE_MACHINES, MEDIC_POLL_SECONDS; states:StartExecution
	UseExecutions                // read/stop executions, answer task tokens (approvals)
	UseTable                     // MEDIC_TABLE_NAME; item reads and writes
	UseSlack                     // MEDIC_SLACK_*; read the two Slack secrets
	UseSelfInvoke                // invokes itself asynchronously (background jobs); DLQ on failure
	UseChatopsConfig             // MEDIC_CHATOPS_CONFIG; config/chatops.yaml must sit beside bootstrap
	UseDatastore                 // MEDIC_KV_PREFIX; read Parameter Store under that path (st2kv)
	UseInstanceLookup            // ec2:DescribeInstances: Prometheus instances (host:port) → instance ids
)

// FunctionSpec describes one Lambda. Adding a function to Medic is one
// entry in Functions: build/<Name>/bootstrap comes from functions/<Name>.
type FunctionSpec struct {
	Name        string
	Description string
	Required    bool // synth fails without its binary; others are skipped when not built
	MemoryMB    int
	TimeoutSecs int
	// ReservedConcurrency caps (and reserves) the function's concurrent
	// executions, so an alarm storm or a flood on the function URL cannot
	// take the account's Lambda concurrency from the workloads being
	// healed. Sized in docs/deploy.md.
	ReservedConcurrency int
	Sources             []Source
	Uses                []Use
	// Aliases are more ${...} names state machines use for this function's
	// ARN, besides ArnPlaceholder (e.g. ApprovalFunctionArn for chatops).
	Aliases []string
}

// Functions is every Lambda Medic knows.
var Functions = []FunctionSpec{
	{
		Name: "ingest", Description: "Medic: every alert arrives here; rules from packs start workflows",
		Required: true, MemoryMB: 256, TimeoutSecs: 30, ReservedConcurrency: 20,
		Sources: []Source{FromAlarms, FromSchedules, FromExecutionStatus},
		Uses:    []Use{UsePacks, UseWorkflows, UseTable, UseDatastore, UseInstanceLookup},
	},
	{
		Name: "chatops", Description: "Medic: Slack slash commands, buttons and approvals",
		MemoryMB: 256, TimeoutSecs: 10, ReservedConcurrency: 10,
		Sources: []Source{FromURL, FromExecutionStatus}, // status changes finish chat runs: threads, alias results
		Uses:    []Use{UsePacks, UseWorkflows, UseExecutions, UseTable, UseSlack, UseSelfInvoke, UseChatopsConfig},
		Aliases: []string{"ApprovalFunctionArn"}, // lambda:invoke.waitForTaskToken approval requests
	},
	{
		Name: "notify", Description: "Medic: posts alerts, workflow steps and approval requests to Slack",
		MemoryMB: 128, TimeoutSecs: 30, ReservedConcurrency: 10,
		Uses: []Use{UseTable, UseSlack},
	},
	{
		Name: "http", Description: "Medic: performs the HTTP request of st2 http-request actions",
		MemoryMB: 128, TimeoutSecs: 310, ReservedConcurrency: 5, // internal/action/httpfn caps a request at 300 s
	},
}

func (f FunctionSpec) uses(u Use) bool {
	for _, v := range f.Uses {
		if v == u {
			return true
		}
	}
	return false
}

func (f FunctionSpec) invokedBy(s Source) bool {
	for _, v := range f.Sources {
		if v == s {
			return true
		}
	}
	return false
}

// invokedAsync: every source but the function URL invokes asynchronously,
// and so does a function dispatching jobs to itself.
func (f FunctionSpec) invokedAsync() bool {
	for _, s := range f.Sources {
		if s != FromURL {
			return true
		}
	}
	return f.uses(UseSelfInvoke)
}

// ArnPlaceholder is the ${...} name a state machine uses for this
// function's ARN: notify → NotifyFunctionArn.
func (f FunctionSpec) ArnPlaceholder() string {
	return pascal(f.Name) + "FunctionArn"
}

// Placeholders are every ${...} name that resolves to this function.
func (f FunctionSpec) Placeholders() []string {
	return append([]string{f.ArnPlaceholder()}, f.Aliases...)
}

// pascal turns "free-disk" or "free_disk" into "FreeDisk".
func pascal(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// SelectFunctions decides which functions the stack deploys. With names
// (context "functions"), exactly those, each of which must be built;
// without, every Required function (which must be built) and every other
// function whose build/<name>/bootstrap exists.
func SelectFunctions(assetRoot string, names []string) ([]FunctionSpec, error) {
	specs := map[string]FunctionSpec{}
	for _, f := range Functions {
		specs[f.Name] = f
	}
	var out []FunctionSpec
	if len(names) > 0 {
		seen := map[string]bool{}
		for _, n := range names {
			f, ok := specs[n]
			if !ok {
				return nil, fmt.Errorf("context functions: %q is not in the function table (infra/stack/functions.go)", n)
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			if err := checkBuilt(assetRoot, f); err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		for _, f := range Functions {
			if f.Required && !seen[f.Name] {
				return nil, fmt.Errorf("context functions: %q is required and missing from the list", f.Name)
			}
		}
		return out, nil
	}
	for _, f := range Functions {
		if !f.Required && !exists(filepath.Join(BuildDir(assetRoot, f.Name), "bootstrap")) {
			continue // not built: not deployed
		}
		if err := checkBuilt(assetRoot, f); err != nil {
			return nil, err // built but incomplete: deploying it would fail at start-up
		}
		out = append(out, f)
	}
	return out, nil
}

// BuildDir is where `make build` leaves a function's asset.
func BuildDir(assetRoot, name string) string {
	return filepath.Join(assetRoot, "build", name)
}

// checkBuilt makes sure the asset exists before CDK hashes it, so the
// error says what to run instead of a jsii stack trace.
func checkBuilt(assetRoot string, f FunctionSpec) error {
	dir := BuildDir(assetRoot, f.Name)
	if !exists(filepath.Join(dir, "bootstrap")) {
		return fmt.Errorf("function %s: %s/bootstrap is missing: run `make build`", f.Name, dir)
	}
	if f.uses(UseChatopsConfig) && !exists(filepath.Join(dir, ChatopsConfigPath)) {
		return fmt.Errorf("function %s: %s/%s is missing: copy your config/chatops.yaml beside bootstrap (make build)", f.Name, dir, ChatopsConfigPath)
	}
	if f.uses(UsePacks) {
		packs, _ := filepath.Glob(filepath.Join(dir, "packs", "*", "pack.yaml"))
		if len(packs) == 0 {
			return fmt.Errorf("function %s: no packs beside bootstrap (%s/packs/*/pack.yaml): run `make build`", f.Name, dir)
		}
	}
	return nil
}

// ChatopsConfigPath is where the chatops configuration sits in its asset.
const ChatopsConfigPath = "config/chatops.yaml"

func exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
