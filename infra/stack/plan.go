package stack

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/infra/workflows"
)

// Plan is everything the stack will contain, decided and checked before a
// single construct exists, so mistakes surface as one clear error.
type Plan struct {
	Config    Config
	AssetRoot string
	Functions []FunctionSpec
	Workflows []PlannedWorkflow
	// ScheduleTarget is the function Scheduler invokes ("" when none is
	// deployed); Timers are the enabled timer rules in its packs.
	ScheduleTarget string
	Timers         []PlannedTimer
}

// PlannedWorkflow is a state machine and what its role may do.
type PlannedWorkflow struct {
	workflows.Workflow
	Access Access
	// Timeout is the execution's TimeoutSeconds: the file's own, else
	// ExecutionTimeouts'. Every machine has one, so nothing runs for the
	// year a Standard execution otherwise may.
	Timeout int
}

// ExecutionTimeouts bound every execution of the shipped workflows, in
// seconds. They live here rather than in the files because the local
// interpreter's virtual clock would fire a machine-wide timeout after a
// moment of real time; a file that sets TimeoutSeconds itself wins.
// Sizes (docs/deploy.md): the longest legitimate run plus a margin.
var ExecutionTimeouts = map[string]int{
	"ask-approval":                90000, // core.ask waits up to a day for an answer
	"autoscaling-adjust-capacity": 3600,
	"collect-evidence":            90000, // evidence, then an approval that may wait up to a day, the fix and its check
	"ec2-reboot-then-recover":     7200,  // reboot and its checks, then stop/start and theirs
	"elb-heal-targets":            90000, // an approval may wait up to a day, then restarts and their settle time
	"diagnose-remediate-verify":   21600, // three commands per attempt, attempts retried
	"ec2-reboot-instance":         3600,
	"ec2-recover-instance":        3600, // stop and start, each waited for
	"http-request":                900,  // the http function caps a request at 300 s
	"notify":                      300,
	"run-command":                 10800, // delivery and execution up to an hour each, plus polling
}

// DeployedDefinition is the definition as the stack deploys it: the file,
// with the execution timeout added when the file has none.
func (w PlannedWorkflow) DeployedDefinition() string {
	if w.Workflow.TimeoutSeconds != 0 {
		return w.Definition
	}
	body := strings.TrimLeft(w.Definition, " \t\r\n")
	return "{\n  \"TimeoutSeconds\": " + strconv.Itoa(w.Timeout) + "," + body[1:]
}

// Placeholders that are neither a function nor a state machine.
const (
	TablePlaceholder      = "TableName"
	AlarmTopicPlaceholder = "AlarmTopicArn"
)

// NewPlan selects the functions, loads statemachines/ under assetRoot,
// checks every ${Placeholder} and every Task against what will exist, and
// maps the timer rules to schedules.
func NewPlan(assetRoot string, cfg Config) (*Plan, error) {
	fns, err := SelectFunctions(assetRoot, cfg.Functions)
	if err != nil {
		return nil, err
	}
	wfs, err := workflows.Load(filepath.Join(assetRoot, "statemachines"))
	if err != nil {
		return nil, err
	}
	deployed := map[string]string{} // placeholder → function name
	for _, f := range fns {
		for _, ph := range f.Placeholders() {
			deployed[ph] = f.Name
		}
	}
	known := map[string]bool{TablePlaceholder: true, AlarmTopicPlaceholder: true}
	for p := range deployed {
		known[p] = true
	}
	for _, w := range wfs {
		known[StateMachinePlaceholder(w.Name)] = true
	}
	target, timers, err := planTimers(assetRoot, fns)
	if err != nil {
		return nil, err
	}
	p := &Plan{Config: cfg, AssetRoot: assetRoot, Functions: fns, ScheduleTarget: target, Timers: timers}
	for _, w := range wfs {
		if err := checkPlaceholders(w, known, assetRoot); err != nil {
			return nil, err
		}
		access, err := DeriveAccess(w, deployed, cfg.SSMDocuments)
		if err != nil {
			return nil, err
		}
		timeout := w.TimeoutSeconds
		if timeout == 0 {
			timeout = ExecutionTimeouts[w.Name]
		}
		if timeout == 0 {
			return nil, fmt.Errorf("%s: no execution timeout: set TimeoutSeconds in the file or add %q to ExecutionTimeouts (infra/stack/plan.go); without one a Standard execution may run for a year", w.File, w.Name)
		}
		p.Workflows = append(p.Workflows, PlannedWorkflow{Workflow: w, Access: access, Timeout: timeout})
	}
	return p, nil
}

// StateMachinePlaceholder names a workflow's ARN for other workflows:
// diagnose-remediate-verify → DiagnoseRemediateVerifyStateMachineArn.
func StateMachinePlaceholder(workflow string) string {
	return pascal(workflow) + "StateMachineArn"
}

func checkPlaceholders(w workflows.Workflow, known map[string]bool, assetRoot string) error {
	for _, ph := range w.Placeholders {
		if known[ph] {
			continue
		}
		for _, f := range Functions {
			if contains(f.Placeholders(), ph) {
				return fmt.Errorf("%s uses ${%s}, but function %s is not deployed: build it (functions/%s, `make build` → %s/bootstrap) or list it in context \"functions\"",
					w.File, ph, f.Name, f.Name, BuildDir(assetRoot, f.Name))
			}
		}
		names := make([]string, 0, len(known))
		for k := range known {
			names = append(names, "${"+k+"}")
		}
		sort.Strings(names)
		return fmt.Errorf("%s uses ${%s}, which the stack does not define (it defines %s)", w.File, ph, strings.Join(names, ", "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
