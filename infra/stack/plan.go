package stack

import (
	"fmt"
	"path/filepath"
	"sort"
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
		p.Workflows = append(p.Workflows, PlannedWorkflow{Workflow: w, Access: access})
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
