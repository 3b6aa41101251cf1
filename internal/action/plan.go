// Package action turns an action run (an st2 action and its resolved
// parameters) into the state machine execution that performs it. Every
// action runs as a workflow, so Step Functions (or the local interpreter)
// gives each run retries, timeouts and a history.
package action

import (
	"fmt"
	"sort"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/secret"
	"github.com/medic-sre/medic/internal/shell"
)

// Runner types Medic understands: "remediation" is Medic's diagnose →
// remediate → verify runner; "workflow" starts the state machine named by the
// action's entry_point with the parameters as input. The st2 shell runners
// are in command.go, http-request in http.go.
const (
	RunnerRemediation = "remediation"
	RunnerWorkflow    = "workflow"
)

// MachineRemediation is the state machine (statemachines/NAME.asl.json) the
// remediation runner uses.
const MachineRemediation = "diagnose-remediate-verify"

// Settings are deployment-wide defaults a plan fills in.
type Settings struct {
	PollSeconds int // how long workflows wait between SSM polls
	// Where SSM keeps full command output (GetCommandInvocation truncates
	// at 24,000 characters); empty means not configured.
	OutputS3Bucket, OutputS3Prefix, CloudWatchLogGroup string
}

// Plan is one state machine execution.
type Plan struct {
	StateMachine string
	Input        map[string]any
}

// Reserved parameter names of the remediation runner; every other parameter
// is bound as a quoted shell variable for the three commands.
var remediationReserved = map[string]bool{
	"target": true, "diagnose": true, "remediate": true, "verify": true,
	"max_attempts": true, "timeout": true,
}

// Build returns the execution plan for running a with params (already
// resolved against the action's schema).
func Build(a *pack.Action, params map[string]any, s Settings) (Plan, error) {
	knowSecrets(a, params)
	switch a.RunnerType {
	case RunnerRemediation:
		return remediationPlan(a, params, s)
	case RunnerWorkflow:
		if a.EntryPoint == "" {
			return Plan{}, fmt.Errorf("action %s: runner workflow needs entry_point naming a state machine", a.Ref)
		}
		return workflowPlan(a, params), nil
	case RunnerLocalShellCmd, RunnerRemoteShellCmd, RunnerRemoteShellScript:
		return commandPlan(a, params, s)
	case RunnerHTTP:
		return httpPlan(a, params, s)
	}
	return Plan{}, fmt.Errorf("action %s: runner_type %q is not supported", a.Ref, a.RunnerType)
}

// knowSecrets makes the values of secret parameters known secrets of the
// process, so that command output echoing one is scrubbed before it is
// stored or sent on (internal/localrun).
func knowSecrets(a *pack.Action, params map[string]any) {
	for name, p := range a.Parameters {
		if v, ok := params[name]; ok && p.Secret {
			secret.Add(shell.Text(v))
		}
	}
}

// workflowPlan passes the parameters as the execution input and adds
// notify (what the machine's notifications carry) unless the action
// declares a parameter of that name.
func workflowPlan(a *pack.Action, params map[string]any) Plan {
	input := make(map[string]any, len(params)+1)
	for k, v := range params {
		input[k] = v
	}
	if _, ok := input["notify"]; !ok {
		input["notify"] = map[string]any{"action": a.Ref}
	}
	return Plan{StateMachine: a.EntryPoint, Input: input}
}

func remediationPlan(a *pack.Action, params map[string]any, s Settings) (Plan, error) {
	target, _ := params["target"].(string)
	if target == "" {
		return Plan{}, fmt.Errorf("action %s: parameter target is required by the remediation runner", a.Ref)
	}
	vars := map[string]any{}
	for k, v := range params {
		if !remediationReserved[k] {
			vars[k] = v
		}
	}
	commands := map[string]any{}
	for _, phase := range []string{"diagnose", "remediate", "verify"} {
		cmd, _ := params[phase].(string)
		if cmd == "" {
			cmd = "true" // a phase the action leaves out always passes
		}
		script, err := shell.Script(cmd, vars)
		if err != nil {
			return Plan{}, fmt.Errorf("action %s: %w", a.Ref, err)
		}
		commands[phase] = script
	}
	return Plan{StateMachine: MachineRemediation, Input: map[string]any{
		"target":          target,
		"commands":        commands,
		"timeout_seconds": intParam(params, "timeout", 600),
		"poll_seconds":    float64(max(s.PollSeconds, 1)),
		"max_attempts":    intParam(params, "max_attempts", 2),
		"retry":           map[string]any{"attempt": 1.0},
		"results":         map[string]any{},
		"notify":          map[string]any{"action": a.Ref, "variables": sortedKeys(vars)},
	}}, nil
}

// intParam reads a numeric parameter as a JSON number (float64).
func intParam(params map[string]any, key string, def int) float64 {
	switch v := params[key].(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return float64(def)
}

func sortedKeys(m map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}
