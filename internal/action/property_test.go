package action

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localrun"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
)

// The hostile-values property: every shipped action, every parameter, a
// set of attacker-written values. Each value goes through the action's
// schema (pack.ResolveParams), the plan (Build) and the local run path (the
// interpreter with the local SSM stand-in, real commands on temp dirs) and
// then either planning refused it, or the run stayed inside its contract:
//
//   - no file outside the contract was read: the output, the result and
//     every notification are free of a canary file's content, Medic's Slack
//     secrets and the command's environment;
//   - no host was contacted: no network tool ran, and systemctl/journalctl
//     saw no option the pack did not write;
//   - nothing was deleted outside the contract: find only ever starts at the
//     resolved path it was given, never a system directory, and files
//     outside that path survive;
//   - no value ran as code: no file a payload would create exists;
//   - no process but the named one was signalled.
//
// Every value is planned; the option-like, path and code-injection values
// in "always" run for every parameter, plus sampledPerParam of the others
// (a seeded sample: MEDIC_PROPERTY_SEED picks it, MEDIC_PROPERTY_ALL=1 runs
// them all), which keeps the test to seconds.
// core.local and core.remote's cmd is code by contract (a reviewed pack or a
// granted chat user writes it): it is held fixed while their other
// parameters are hostile.

const sampledPerParam = 2

// sandbox is one test's world: a work directory the base parameters point
// at, a protected directory no hostile value may clean, a canary file whose
// content must never be output, links to /etc and to protected, and a PATH
// of logging stand-ins.
type sandbox struct {
	root, work, protected, canary, calls string
	shimDir                              string
}

const canaryContent = "CANARY-7c1e-CONTENT"

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	root := t.TempDir()
	s := &sandbox{root: root, work: filepath.Join(root, "work"), protected: filepath.Join(root, "protected"),
		canary: filepath.Join(root, "canary"), calls: filepath.Join(root, "calls.log"), shimDir: filepath.Join(root, "bin")}
	for _, d := range []string{s.work, s.protected, s.shimDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.canary, []byte(canaryContent+"\x00"+canaryContent+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, to := range map[string]string{"etc-link": "/etc", "protected-link": s.protected} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	s.writeShims(t)
	return s
}

// writeShims: network tools and systemd's commands only log (nothing real
// runs); find and du log, then run the real command, except find on a
// system directory, which is logged as such and refused so a failing test
// cannot delete anything there.
func (s *sandbox) writeShims(t *testing.T) {
	logArgs := "printf '%s' \"${0##*/}\" >> '" + s.calls + "'\nfor a; do printf ' [%s]' \"$a\" >> '" + s.calls + "'; done\necho >> '" + s.calls + "'\n"
	for _, name := range []string{"ssh", "scp", "curl", "wget", "nc", "ncat", "socat", "telnet", "systemctl", "journalctl"} {
		writeShim(t, s.shimDir, name, "#!/bin/sh\n"+logArgs+"exit 0\n")
	}
	for _, name := range []string{"du"} { // one read-only command stands for the rest (each shim costs a process)
		if real := realCommand(name); real != "" {
			writeShim(t, s.shimDir, name, "#!/bin/sh\n"+logArgs+"exec '"+real+"' \"$@\"\n")
		}
	}
	writeShim(t, s.shimDir, "find", "#!/bin/sh\n"+logArgs+
		"case \"$(realpath -m -- \"$1\")\" in\n"+
		"  /|/bin|/bin/*|/boot|/boot/*|/dev|/dev/*|/etc|/etc/*|/lib*|/proc|/proc/*|/root|/root/*|/sbin|/sbin/*|/sys|/sys/*|/usr|/usr/*)\n"+
		"    echo SYSTEM-DIRECTORY >> '"+s.calls+"'; exit 1 ;;\nesac\nexec '"+realCommand("find")+"' \"$@\"\n")
}

func writeShim(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// reset puts old *.tmp files back in work and protected and clears the
// call log and the payloads' marker files.
func (s *sandbox) reset(t *testing.T) {
	t.Helper()
	old := time.Now().Add(-3 * time.Hour)
	for _, d := range []string{s.work, s.protected} {
		for _, name := range []string{"old.tmp", "-rf.tmp", "keep.log"} {
			p := filepath.Join(d, name)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = os.Remove(s.calls)
	_ = os.Remove(filepath.Join(s.root, "pwned"))
}

// hostileValues are the attacker's strings; SANDBOX stands for the
// sandbox root. The first ones are always run, the rest sampled.
func (s *sandbox) hostileValues() (always, sampled []string) {
	r := func(v string) string { return strings.ReplaceAll(v, "SANDBOX", s.root) }
	always = []string{
		r("--files0-from=SANDBOX/canary"),
		"-H evil.example",
		r("$(touch SANDBOX/pwned)"),
		r("SANDBOX/etc-link"),
	}
	sampled = []string{
		"--files0-from=/proc/self/environ", "--host=evil.example", "//etc",
		"-Hevil.example", "--machine=evil.example", "-rf", "--help", "-", "-1", "0",
		"..", "../../../../etc", "/tmp/../etc", "/etc", "/", r("SANDBOX/work/../protected"), r("SANDBOX/protected-link"),
		r("`touch SANDBOX/pwned`"), r("x; touch SANDBOX/pwned"), r("x\ntouch SANDBOX/pwned"),
		r("x' ; touch SANDBOX/pwned; '"), r("\"; touch SANDBOX/pwned; \""), r("x && touch SANDBOX/pwned"),
		"nul\x00byte", strings.Repeat("A", 20000), "ünïcødé\u202e--help", "*", "/*", "$HOME ${PATH} $0",
	}
	return always, sampled
}

// valuesFor returns the values to try for one parameter: strings, and for
// object and array parameters the strings wrapped as values and as keys.
func valuesFor(p *pack.Param, values []string) []any {
	var out []any
	for _, v := range values {
		switch p.Type {
		case "object":
			out = append(out, map[string]any{"X": v}, map[string]any{v: "x"})
		case "array":
			out = append(out, []any{v})
		default:
			out = append(out, v)
		}
	}
	return out
}

// baseParams are valid, harmless parameters of each shipped action, the
// ones a hostile value replaces one at a time.
func (s *sandbox) baseParams() map[string]map[string]any {
	return map[string]map[string]any{
		"linux.free_disk":           {"target": "localhost", "path": s.work, "max_attempts": 1, "timeout": 20},
		"linux.restart_service":     {"target": "localhost", "service": "medic-test.service", "settle_seconds": 0, "max_attempts": 1, "timeout": 20},
		"linux.kill_process":        {"target": "localhost", "process": "medic-nosuch", "settle_seconds": 0, "max_attempts": 1, "timeout": 20},
		"linux.collect_diagnostics": {"hosts": "localhost", "lines": 5, "timeout": 20},
		"core.local":                {"cmd": "true", "timeout": 20},
		"core.remote":               {"cmd": "true", "hosts": "localhost", "timeout": 20},
		"core.http":                 {"url": "https://example.com/health"},
		"core.notify":               {"message": "hi"},
		"core.ask":                  {"question": "restart?", "timeout_seconds": 60},
		"aws_ec2.reboot_instance":   {"instance_id": "i-1", "max_checks": 2},
		"aws_ec2.recover_instance":  {"instance_id": "i-1", "max_checks": 2},
		"aws_ec2.scale_asg":         {"group": "web"},
	}
}

// paramsFromSampleEvents are the parameters the shipped rules give each
// action for the real-shaped alarm events in events/ (the first event that
// fires a rule of that action): valid base parameters for every action a
// rule starts, without a hand-written entry per action.
func paramsFromSampleEvents(t *testing.T) map[string]map[string]any {
	t.Helper()
	set := shippedPacks(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	out := map[string]map[string]any{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		triggers, err := sensor.Parse(raw, sensor.Request{})
		if err != nil {
			continue // control events, refused samples
		}
		for _, tr := range triggers {
			for _, ev := range rule.NewIndex(set.Rules()).Evaluate(tr, noKV{}) {
				if !ev.Fires() {
					continue
				}
				a, _ := set.Action(ev.Rule.Action.Ref)
				if _, seen := out[a.Ref]; seen {
					continue
				}
				if p, err := a.ResolveParams(ev.Params); err == nil {
					out[a.Ref] = p
				}
			}
		}
	}
	return out
}

func TestEveryShippedActionContainsHostileValues(t *testing.T) {
	withMedicSecrets(t)
	seed := time.Now().UnixNano()
	if v, err := strconv.ParseInt(os.Getenv("MEDIC_PROPERTY_SEED"), 10, 64); err == nil {
		seed = v
	}
	all := os.Getenv("MEDIC_PROPERTY_ALL") == "1"
	t.Logf("seed %d (MEDIC_PROPERTY_SEED=%d reproduces this sample)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	s := newSandbox(t)
	bystander := startBystander(t)

	base := s.baseParams()
	for ref, params := range paramsFromSampleEvents(t) {
		if _, ok := base[ref]; !ok {
			base[ref] = params
		}
	}
	always, sampled := s.hostileValues()
	ran, refused := 0, 0
	for _, a := range shippedPacks(t).Actions() {
		given, ok := base[a.Ref]
		if !ok {
			t.Errorf("%s: give it base parameters in this test", a.Ref)
			continue
		}
		started := time.Now()
		h := newHarness(t)
		h.tasks.SSM.Dir = s.root
		h.tasks.SSM.Path = s.shimDir + string(os.PathListSeparator) + localrun.DefaultPath
		for _, name := range sortedParamNames(a) {
			if (a.Ref == "core.local" || a.Ref == "core.remote") && name == "cmd" {
				continue // code by contract
			}
			pick := append([]string(nil), sampled...)
			rng.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
			if !all {
				pick = pick[:sampledPerParam]
			}
			values := valuesFor(a.Parameters[name], append(append([]string(nil), always...), pick...))
			for _, v := range values {
				params := map[string]any{}
				for k, bv := range given {
					params[k] = bv
				}
				params[name] = v
				resolved, plan, err := planHostile(a, params)
				if err != nil {
					refused++
					continue
				}
				if requestFieldOnly(a, name) {
					// An SSM request field, never a shell word: the value
					// must not be in any command, and running adds nothing.
					if strings.Contains(toJSON(plan.Input["commands"])+toJSON(sendCommandScripts(plan)), toJSON(v)) && len(fmt.Sprint(v)) > 3 {
						t.Errorf("%s %s: a request field's value reached the command text", a.Ref, name)
					}
					continue
				}
				ran++
				s.reset(t)
				s.check(t, h, a, name, v, resolved, plan)
			}
		}
		t.Logf("%s: %v", a.Ref, time.Since(started).Round(time.Millisecond))
	}
	if bystander.ProcessState != nil || bystander.Process.Signal(syscallZero) != nil {
		t.Error("a process no action named was signalled")
	}
	t.Logf("%d runs, %d refused at planning", ran, refused)
	if ran == 0 {
		t.Fatal("nothing ran")
	}
}

// requestFieldOnly are the runner parameters that become fields of the SSM
// request (how long, how many at once, where output goes) and nothing else.
func requestFieldOnly(a *pack.Action, name string) bool {
	switch a.RunnerType {
	case RunnerLocalShellCmd, RunnerRemoteShellCmd, RunnerRemoteShellScript:
		return commandReserved[name] && name != "hosts" && name != "instance_ids" && name != "targets" && name != "cwd" && name != "env" && name != "sudo"
	}
	return false
}

func sendCommandScripts(plan Plan) any {
	req, _ := plan.Input["send_command"].(map[string]any)
	params, _ := req["Parameters"].(map[string]any)
	return params["commands"]
}

// startBystander runs a copy of sleep named medic-bystander: a process no
// hostile value names exactly, which no action may signal.
func startBystander(t *testing.T) *exec.Cmd {
	t.Helper()
	raw, err := os.ReadFile(realCommand("sleep"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "medic-bystander")
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// kill_process signals processes by exact name only: patterns, globs and
// prefixes of a running process's name signal nothing.
func TestKillProcessNeverMatchesByPattern(t *testing.T) {
	bystander := startBystander(t)
	time.Sleep(100 * time.Millisecond) // let ps see it under its name
	h := newHarness(t)
	for _, name := range []string{"medic-bystande", "medic-bys*", "medic-bys.*", ".*", "*", "-f medic", "medic-bystander medic-bystander"} {
		if _, err := runShippedUnchecked(t, h, "linux.kill_process", map[string]any{"target": "localhost", "process": name, "min_cpu_percent": 0, "settle_seconds": 0, "max_attempts": 1}); err != nil {
			t.Logf("%q: %v", name, err)
		}
		if bystander.ProcessState != nil || bystander.Process.Signal(syscallZero) != nil {
			t.Fatalf("process %q signalled medic-bystander", name)
		}
	}
	// The exact name does reach it, so the test above could fail (with
	// time to exit before verify looks again, even on a loaded machine).
	if _, err := runShippedUnchecked(t, h, "linux.kill_process", map[string]any{"target": "localhost", "process": "medic-bystander", "min_cpu_percent": 0, "settle_seconds": 3, "max_attempts": 1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- bystander.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the exact name did not signal medic-bystander")
	}
}

func planHostile(a *pack.Action, given map[string]any) (map[string]any, Plan, error) {
	params, err := a.ResolveParams(given)
	if err != nil {
		return nil, Plan{}, err
	}
	plan, err := Build(a, params, Settings{})
	return params, plan, err
}

func sortedParamNames(a *pack.Action) []string {
	names := make([]string, 0, len(a.Parameters))
	for n := range a.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// check runs one planned hostile value and asserts the run stayed inside
// the action's contract.
func (s *sandbox) check(t *testing.T, h *harness, a *pack.Action, name string, v any, params map[string]any, plan Plan) {
	t.Helper()
	label := fmt.Sprintf("%s %s=%.60q", a.Ref, name, fmt.Sprint(v))
	h.mu.Lock()
	h.notified = nil
	h.mu.Unlock()
	var out map[string]any
	var err error
	switch plan.StateMachine {
	case MachineRemediation, MachineRunCommand:
		out, err = h.run(plan)
	default:
		out, err = s.runWorkflow(t, h, plan)
	}
	all := h.transcript(out, err)
	for _, leak := range []string{canaryContent, testSigningSecret, testBotToken, "LC_ALL=C.UTF-8", "root:x:0:0"} {
		if strings.Contains(all, leak) {
			t.Errorf("%s: %q reached the record or a notification", label, leak)
		}
	}
	if _, statErr := os.Stat(filepath.Join(s.root, "pwned")); statErr == nil {
		t.Errorf("%s: the value ran as code", label)
	}
	for _, call := range readCalls(t, s.calls) {
		s.checkCall(t, label, call)
	}
	s.checkDeletions(t, label, a, params)
}

// allowedSystemdWords are the options the shipped packs give systemctl and
// journalctl; any other option before "--" came from a value.
var allowedSystemdOptions = map[string]bool{"--no-pager": true, "--lines=20": true, "-n": true, "-p": true, "--failed": true}

func (s *sandbox) checkCall(t *testing.T, label, call string) {
	t.Helper()
	cmd, args := parseCall(call)
	optionsPart := args
	for i, a := range args {
		if a == "--" {
			optionsPart = args[:i]
			break
		}
	}
	switch cmd {
	case "ssh", "scp", "curl", "wget", "nc", "ncat", "socat", "telnet":
		t.Errorf("%s: contacted a host: %s", label, call)
	case "SYSTEM-DIRECTORY":
		t.Errorf("%s: find was started in a system directory", label)
	case "systemctl", "journalctl":
		for _, w := range optionsPart {
			option := strings.HasPrefix(w, "-") && !allowedSystemdOptions[w] && !strings.HasPrefix(w, "--unit=")
			if option || strings.Contains(w, "evil") {
				t.Errorf("%s: %s got option %q the pack did not write: %s", label, cmd, w, call)
			}
		}
	case "du":
		for _, w := range optionsPart {
			if strings.Contains(w, "evil") || strings.Contains(w, "files0") || strings.Contains(w, "help") {
				t.Errorf("%s: a value reached %s as an option: %s", label, cmd, call)
			}
		}
	}
}

// parseCall splits a logged call, `name [arg] [arg]`, into its parts.
func parseCall(call string) (string, []string) {
	cmd, rest, _ := strings.Cut(call, " ")
	rest = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
	if rest == "" {
		return cmd, nil
	}
	return cmd, strings.Split(rest, "] [")
}

// checkDeletions: files outside the directory a free_disk run resolved its
// path to survive; every other action deletes nothing at all.
func (s *sandbox) checkDeletions(t *testing.T, label string, a *pack.Action, params map[string]any) {
	t.Helper()
	contract := ""
	if path, _ := params["path"].(string); a.Ref == "linux.free_disk" && strings.HasPrefix(path, "/") {
		if p, err := filepath.EvalSymlinks(path); err == nil {
			contract = p
		}
	}
	for _, d := range []string{s.work, s.protected} {
		for _, name := range []string{"old.tmp", "-rf.tmp", "keep.log"} {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err != nil && (contract == "" || !strings.HasPrefix(p, contract+string(filepath.Separator))) {
				t.Errorf("%s: deleted %s, outside its contract (%q)", label, p, contract)
			}
		}
	}
}

// runWorkflow runs a workflow or http plan against recording stand-ins of
// the AWS APIs and functions. These actions run no command: what they may
// touch is the API their machine calls with the value as data.
func (s *sandbox) runWorkflow(t *testing.T, h *harness, plan Plan) (map[string]any, error) {
	t.Helper()
	rec := &recorder{hub: asl.NewTokenHub()}
	m := h.machine(plan.StateMachine)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := m.Run(ctx, plan.Input, asl.Options{Tasks: rec, Tokens: rec.hub, Clock: asl.NewVirtualClock(time.Unix(0, 0)), ExecutionName: "property"})
	for _, res := range rec.resources {
		if strings.Contains(res, "ssm:sendCommand") {
			t.Errorf("%s sent a command", plan.StateMachine)
		}
	}
	if req, ok := plan.Input["request"].(map[string]any); ok && rec.httpURL != "" && rec.httpURL != req["url"] {
		t.Errorf("the http function was asked for %q, not the planned %q", rec.httpURL, req["url"])
	}
	h.mu.Lock()
	h.notified = append(h.notified, rec.payloads...)
	h.mu.Unlock()
	res, _ := out.(map[string]any)
	return res, err
}

// recorder answers the AWS integrations and functions the workflow
// machines call with plausible, healthy results, and records the calls.
type recorder struct {
	mu        sync.Mutex
	hub       *asl.TokenHub
	resources []string
	payloads  []map[string]any
	httpURL   string
}

func (r *recorder) Invoke(_ context.Context, req asl.TaskRequest) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resources = append(r.resources, req.Resource)
	op := req.Resource[strings.LastIndex(req.Resource, ":")+1:]
	in, _ := req.Input.(map[string]any)
	switch strings.TrimSuffix(op, ".waitForTaskToken") {
	case "describeInstanceStatus":
		return map[string]any{"InstanceStatuses": []any{map[string]any{"InstanceId": "i-1",
			"InstanceStatus": map[string]any{"Status": "ok"}, "SystemStatus": map[string]any{"Status": "ok"}}}}, nil
	case "describeInstances":
		return map[string]any{"Reservations": []any{map[string]any{"Instances": []any{map[string]any{"State": map[string]any{"Name": "running"}}}}}}, nil
	case "stopInstances", "startInstances":
		return map[string]any{}, nil
	case "describeAutoScalingGroups":
		return map[string]any{"AutoScalingGroups": []any{map[string]any{"AutoScalingGroupName": "web", "DesiredCapacity": 2.0, "MinSize": 1.0, "MaxSize": 5.0}}}, nil
	case "invoke":
		payload, _ := in["Payload"].(map[string]any)
		if payload != nil {
			r.payloads = append(r.payloads, payload)
		}
		switch in["FunctionName"] {
		case "medic-http":
			r.httpURL, _ = payload["url"].(string)
			return map[string]any{"StatusCode": 200.0, "Payload": map[string]any{"status_code": 200.0, "body": "ok"}}, nil
		case "medic-approval":
			if token, ok := payload["token"].(string); ok {
				r.hub.Success(token, map[string]any{"approved": true, "by": "U1"})
			}
		}
		return map[string]any{"StatusCode": 200.0, "Payload": map[string]any{"delivered": true}}, nil
	}
	return map[string]any{}, nil
}
