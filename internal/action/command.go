package action

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/shell"
)

// st2's shell runners. All three become one SSM SendCommand of
// AWS-RunShellScript (statemachines/run-command.asl.json); locally the same
// request runs on named local targets.
const (
	RunnerLocalShellCmd     = "local-shell-cmd"
	RunnerRemoteShellCmd    = "remote-shell-cmd"
	RunnerRemoteShellScript = "remote-shell-script"
)

// MachineRunCommand is the state machine the shell runners use.
const MachineRunCommand = "run-command"

// LocalTarget is the target local-shell-cmd runs on when none is given: the
// machine Medic runs on.
const LocalTarget = "localhost"

// commandReserved are the runner parameters (st2 names where st2 has one)
// that shape the SSM request; every other parameter is bound as a quoted
// shell variable the command reads as "$name".
var commandReserved = map[string]bool{
	"cmd": true, "hosts": true, "instance_ids": true, "targets": true, "cwd": true, "env": true,
	"timeout": true, "max_concurrency": true, "max_errors": true, "output_s3_bucket": true,
	"output_s3_prefix": true, "cloudwatch_log_group": true, "sudo": true,
}

// MaxCommandTimeout is the longest a command may run (and wait for its
// agent): run-command clamps to it too, and its TimeoutSeconds allows two of
// them plus polling.
const MaxCommandTimeout = 3600

// commandPlan builds the run-command input: the fields the state machine
// builds its SendCommand request from (never a request it would pass on
// whole), plus polling settings.
func commandPlan(a *pack.Action, params map[string]any, s Settings) (Plan, error) {
	body, err := commandBody(a, params)
	if err != nil {
		return Plan{}, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	vars, err := commandVars(params)
	if err != nil {
		return Plan{}, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	script, err := shell.Script(body, vars)
	if err != nil {
		return Plan{}, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	if sudo, _ := params["sudo"].(bool); sudo {
		// The whole script, variables included, is one quoted word: sudo
		// resets the environment, so exports outside it would not arrive.
		script = "sudo -n sh -c " + shell.Quote(script)
	}
	timeout := int(intParam(params, "timeout", 600))
	if timeout <= 0 || timeout > MaxCommandTimeout {
		return Plan{}, fmt.Errorf("action %s: parameter timeout must be 1 to %d seconds, got %d", a.Ref, MaxCommandTimeout, timeout)
	}
	run := map[string]any{
		"comment":           truncateComment("medic " + a.Ref),
		"commands":          []any{script},
		"execution_timeout": float64(timeout),
		// SSM's delivery timeout: how long to wait for an agent to pick
		// the command up (30 s at least).
		"delivery_timeout": float64(max(timeout, 30)),
	}
	if cwd, _ := params["cwd"].(string); cwd != "" {
		run["working_directory"] = cwd
	}
	if err := addTargets(run, a, params); err != nil {
		return Plan{}, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	addRateControls(run, params)
	if err := addOutputConfig(run, params, s); err != nil {
		return Plan{}, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	return Plan{StateMachine: MachineRunCommand, Input: map[string]any{
		"run":          run,
		"poll_seconds": float64(max(s.PollSeconds, 1)),
		"notify":       map[string]any{"action": a.Ref, "variables": sortedKeys(vars)},
	}}, nil
}

// commandBody is the fixed command text: the cmd parameter for the
// shell-cmd runners, the entry_point script for remote-shell-script. It never
// contains alert data: templates in it are refused, because a template would
// splice values into shell text.
func commandBody(a *pack.Action, params map[string]any) (string, error) {
	if a.RunnerType == RunnerRemoteShellScript {
		return scriptBody(a, params)
	}
	cmd, _ := params["cmd"].(string)
	if strings.TrimSpace(cmd) == "" {
		return "", fmt.Errorf("parameter cmd is required by runner %s", a.RunnerType)
	}
	if strings.Contains(cmd, "{{") || strings.Contains(cmd, "{%") {
		return "", fmt.Errorf("parameter cmd contains a Jinja template; Medic never splices parameters into commands: refer to them as \"$name\" instead")
	}
	return cmd, nil
}

// scriptBody embeds the action's script (entry_point, relative to the
// action's folder as in st2) through a quoted here-document, so the script
// runs with its own interpreter (#! line) and positional parameters become
// its arguments, each a quoted word.
func scriptBody(a *pack.Action, params map[string]any) (string, error) {
	if a.EntryPoint == "" {
		return "", fmt.Errorf("runner %s needs entry_point naming a script", a.RunnerType)
	}
	// Resolved again here, not only when the pack was validated: the
	// script that runs is the one inside the pack, whatever a symlink now
	// says.
	path, err := a.ScriptPath()
	if err != nil {
		return "", fmt.Errorf("entry_point %w", err)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("entry_point: %w", err)
	}
	text := string(src)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	delim := fmt.Sprintf("MEDIC_SCRIPT_%x", sha256.Sum256(src))[:29]
	if strings.Contains(text, delim) {
		return "", fmt.Errorf("entry_point %s: contains the here-document delimiter %s", path, delim)
	}
	var b strings.Builder
	b.WriteString("medic_script=$(mktemp) || exit 1\n")
	fmt.Fprintf(&b, "cat > \"$medic_script\" <<'%s'\n%s%s\n", delim, text, delim)
	b.WriteString("chmod 700 \"$medic_script\"\n")
	b.WriteString("\"$medic_script\"")
	for _, arg := range positionalArgs(a, params) {
		b.WriteString(" " + shell.Quote(arg))
	}
	b.WriteString("\nmedic_rc=$?\nrm -f \"$medic_script\"\nexit $medic_rc")
	return b.String(), nil
}

// positionalArgs lists the values of parameters that declare a position,
// in position order, as st2's script runners pass them.
func positionalArgs(a *pack.Action, params map[string]any) []string {
	type arg struct {
		pos int
		val string
	}
	var args []arg
	for name, p := range a.Parameters {
		if v, ok := params[name]; ok && p.Position != nil {
			args = append(args, arg{*p.Position, shell.Text(v)})
		}
	}
	sort.Slice(args, func(i, j int) bool { return args[i].pos < args[j].pos })
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a.val
	}
	return out
}

// commandVars are the shell variables the command sees: every parameter
// that is not a runner setting, plus the env parameter's entries.
func commandVars(params map[string]any) (map[string]any, error) {
	vars := map[string]any{}
	for k, v := range params {
		if !commandReserved[k] {
			vars[k] = v
		}
	}
	env, _ := params["env"].(map[string]any)
	for k, v := range env {
		if _, clash := vars[k]; clash {
			return nil, fmt.Errorf("env %q clashes with the parameter of that name", k)
		}
		vars[k] = v
	}
	return vars, nil
}

// addTargets sets instance_ids (hosts or instance_ids) or tag_targets (tag
// filters "tag:Name=v1,v2" or {"Key":"tag:Name","Values":[..]}); SSM takes
// one or the other. Only tag filters: SSM's other target keys (InstanceIds
// with "*", resource groups) could reach instances no rule named.
func addTargets(run map[string]any, a *pack.Action, params map[string]any) error {
	ids := splitList(params["instance_ids"])
	ids = append(ids, splitList(params["hosts"])...)
	targets, err := tagTargets(params["targets"])
	if err != nil {
		return err
	}
	if len(ids) == 0 && len(targets) == 0 && a.RunnerType == RunnerLocalShellCmd {
		ids = []string{LocalTarget}
	}
	switch {
	case len(ids) > 0 && len(targets) > 0:
		return fmt.Errorf("give hosts/instance_ids or targets, not both (SSM takes one)")
	case len(ids) > 0:
		list := make([]any, len(ids))
		for i, id := range ids {
			list[i] = id
		}
		run["instance_ids"] = list
	case len(targets) > 0:
		run["tag_targets"] = targets
	default:
		return fmt.Errorf("runner %s needs hosts, instance_ids or targets", a.RunnerType)
	}
	return nil
}

// splitList accepts a list or st2's comma-separated hosts string.
func splitList(v any) []string {
	var raw []string
	switch x := v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []any:
		for _, e := range x {
			raw = append(raw, shell.Text(e))
		}
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func tagTargets(v any) ([]any, error) {
	var out []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		for _, t := range strings.Split(x, ";") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			key, vals, ok := strings.Cut(t, "=")
			tag, isTag := strings.CutPrefix(key, "tag:")
			if !ok || !isTag || tag == "" || vals == "" {
				return nil, fmt.Errorf("targets %q: want tag:KEY=V1,V2 (e.g. tag:Role=web); only tag filters are allowed", t)
			}
			out = append(out, map[string]any{"key": tag, "values": toAnyList(splitList(vals))})
		}
	case []any:
		for i, e := range x {
			m, ok := e.(map[string]any)
			key, _ := m["Key"].(string)
			tag, isTag := strings.CutPrefix(key, "tag:")
			vals := splitList(m["Values"])
			if !ok || !isTag || tag == "" || len(vals) == 0 {
				return nil, fmt.Errorf("targets[%d]: want {Key: tag:NAME, Values: [..]}; only tag filters are allowed", i)
			}
			out = append(out, map[string]any{"key": tag, "values": toAnyList(vals)})
		}
	default:
		return nil, fmt.Errorf("targets: want a string or a list, got %T", v)
	}
	return out, nil
}

// addRateControls passes max_concurrency/max_errors ("10" or "25%")
// through; they only apply to SSM's own fan-out.
func addRateControls(run map[string]any, params map[string]any) {
	if v := shell.Text(params["max_concurrency"]); v != "" {
		run["max_concurrency"] = v
	}
	if v := shell.Text(params["max_errors"]); v != "" {
		run["max_errors"] = v
	}
}

// addOutputConfig names the CloudWatch Logs group for the full output
// (GetCommandInvocation truncates at 24,000 characters and run-command
// keeps only a tail) when the action or the deployment chooses one;
// run-command otherwise uses the stack's /aws/ssm/<state machine name>.
// S3 output is refused: run-command always writes CloudWatch Logs.
func addOutputConfig(run map[string]any, params map[string]any, s Settings) error {
	if bucket := firstNonEmpty(shell.Text(params["output_s3_bucket"]), s.OutputS3Bucket); bucket != "" {
		return fmt.Errorf("output to S3 (%q) is not supported: run-command keeps the full output in CloudWatch Logs (cloudwatch_log_group)", bucket)
	}
	if group := firstNonEmpty(shell.Text(params["cloudwatch_log_group"]), s.CloudWatchLogGroup); group != "" {
		run["output_log_group"] = group
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func toAnyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// truncateComment keeps SSM's 100-character Comment limit.
func truncateComment(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}
