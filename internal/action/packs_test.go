package action

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localrun"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/target"
	"github.com/medic-sre/medic/internal/trigger"
)

// Tests of the shipped packs (packs/): every rule fires on the alert it is
// written for with the parameters its action expects, every action builds a
// plan, and the actions run: shell ones for real on this machine, AWS ones
// in the interpreter against a scripted EC2/Auto Scaling.

func shippedPacks(t *testing.T) *pack.Set {
	t.Helper()
	set, err := pack.LoadDir("../../packs")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func alarm(metric, instance string, dims map[string]any) trigger.Trigger {
	if dims == nil {
		dims = map[string]any{}
	}
	if instance != "" {
		dims["InstanceId"] = instance
	}
	return trigger.Trigger{ID: metric, Type: trigger.TypeCloudWatchAlarm, Time: time.Now(), Payload: map[string]any{
		"state": "ALARM", "metric_name": metric, "instance_id": instance, "dimensions": dims,
	}}
}

func TestShippedRulesFireWithTheirActionsParameters(t *testing.T) {
	set := shippedPacks(t)
	unitFailed := trigger.Trigger{ID: "u", Type: trigger.TypeAlertmanager, Payload: map[string]any{
		"status": "firing", "alertname": "SystemdUnitFailed", "labels": map[string]any{"name": "nginx.service", "instance_id": "i-0abc"},
		// The engine resolves the alert's instance (internal/engine/target.go).
		"target": target.Payload(target.Target{InstanceID: "i-0abc", Source: "ec2"}, nil),
	}}
	cases := []struct {
		trigger trigger.Trigger
		rule    string
		want    map[string]any
	}{
		{unitFailed, "linux.restart_service_on_unit_failed", map[string]any{"target": "i-0abc", "service": "nginx.service"}},
		{alarm("procstat_cpu_usage", "i-0abc", map[string]any{"exe": "java"}), "linux.kill_runaway_on_cpu_alarm", map[string]any{"target": "i-0abc", "process": "java", "min_cpu_percent": 80}},
		{alarm("CPUUtilization", "i-0abc", nil), "linux.collect_diagnostics_on_high_cpu", map[string]any{"hosts": "i-0abc", "lines": 50}},
		{alarm("StatusCheckFailed_Instance", "i-0abc", nil), "aws_ec2.reboot_on_instance_check_failed", map[string]any{"instance_id": "i-0abc", "poll_seconds": 30}},
		{alarm("StatusCheckFailed_System", "i-0abc", nil), "aws_ec2.recover_on_system_check_failed", map[string]any{"instance_id": "i-0abc"}},
		{alarm("CPUUtilization", "", map[string]any{"AutoScalingGroupName": "web"}), "aws_ec2.scale_out_on_group_cpu", map[string]any{"group": "web", "adjust_by": 1}},
	}
	ix := rule.NewIndex(set.Rules())
	for _, c := range cases {
		var fired []string
		for _, ev := range ix.Evaluate(c.trigger, noKV{}) {
			if !ev.Fires() {
				continue
			}
			fired = append(fired, ev.Rule.Ref)
			a, _ := set.Action(ev.Rule.Action.Ref)
			params, err := a.ResolveParams(ev.Params)
			if err != nil {
				t.Fatalf("%s: %v", ev.Rule.Ref, err)
			}
			for k, v := range c.want {
				if !reflect.DeepEqual(params[k], v) {
					t.Errorf("%s: %s = %#v, want %#v", ev.Rule.Ref, k, params[k], v)
				}
			}
			if _, err := Build(a, params, Settings{}); err != nil {
				t.Errorf("%s: %v", ev.Rule.Ref, err)
			}
		}
		if !reflect.DeepEqual(fired, []string{c.rule}) {
			t.Errorf("%s alert fired %v, want exactly %s", c.trigger.ID, fired, c.rule)
		}
	}
}

// Every shipped action resolves with minimal parameters and builds a plan
// for a state machine that exists.
func TestShippedActionsBuildPlansForExistingMachines(t *testing.T) {
	minimal := map[string]map[string]any{
		"linux.free_disk":           {"target": "localhost", "path": "/tmp/x"},
		"linux.restart_service":     {"target": "localhost", "service": "nginx"},
		"linux.kill_process":        {"target": "localhost", "process": "java"},
		"linux.collect_diagnostics": {"hosts": "localhost"},
		"aws_ec2.reboot_instance":   {"instance_id": "i-1"},
		"aws_ec2.recover_instance":  {"instance_id": "i-1"},
		"aws_ec2.scale_asg":         {"group": "web"},
		"core.local":                {"cmd": "true"},
		"core.remote":               {"cmd": "true", "hosts": "i-1"},
		"core.http":                 {"url": "https://example.com/health"},
		"core.notify":               {"message": "hi"},
		"core.ask":                  {"question": "restart?"},
	}
	var machines []string
	for _, dir := range machineDirs {
		found, _ := filepath.Glob(filepath.Join(dir, "*.asl.json"))
		machines = append(machines, found...)
	}
	exists := map[string]bool{}
	for _, m := range machines {
		exists[strings.TrimSuffix(filepath.Base(m), ".asl.json")] = true
	}
	for _, a := range shippedPacks(t).Actions() {
		given, ok := minimal[a.Ref]
		if !ok {
			given, ok = awsServiceMinimalParams[a.Ref]
		}
		if !ok {
			t.Errorf("%s: add it to this test", a.Ref)
			continue
		}
		params, err := a.ResolveParams(given)
		if err != nil {
			t.Errorf("%s: %v", a.Ref, err)
			continue
		}
		plan, err := Build(a, params, Settings{})
		if err != nil {
			t.Errorf("%s: %v", a.Ref, err)
		} else if !exists[plan.StateMachine] {
			t.Errorf("%s: state machine %q does not exist", a.Ref, plan.StateMachine)
		}
	}
}

func runShipped(t *testing.T, h *harness, ref string, given map[string]any) (map[string]any, error) {
	t.Helper()
	a, ok := shippedPacks(t).Action(ref)
	if !ok {
		t.Fatalf("no action %s", ref)
	}
	return runPlanned(t, h, a, given)
}

// runShippedUnchecked runs a shipped action with its parameter constraints
// removed: the commands themselves must stay safe (their second line of
// defence) for values that planning would have refused.
func runShippedUnchecked(t *testing.T, h *harness, ref string, given map[string]any) (map[string]any, error) {
	t.Helper()
	a, ok := shippedPacks(t).Action(ref)
	if !ok {
		t.Fatalf("no action %s", ref)
	}
	unchecked := *a
	unchecked.Parameters = map[string]*pack.Param{}
	for name, p := range a.Parameters {
		loose := *p
		loose.Constraints = pack.Constraints{}
		unchecked.Parameters[name] = &loose
	}
	return runPlanned(t, h, &unchecked, given)
}

func runPlanned(t *testing.T, h *harness, a *pack.Action, given map[string]any) (map[string]any, error) {
	t.Helper()
	params, err := a.ResolveParams(given)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Build(a, params, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return h.run(plan)
}

func TestKillProcessStopsOnlyTheRunaway(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	// A copy of sh under a unique name is the runaway: a busy loop.
	bin := filepath.Join(t.TempDir(), "medicrunaway")
	raw, err := os.ReadFile(sh)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	runaway := exec.Command(bin, "-c", "while :; do :; done")
	calm := exec.Command(bin, "-c", "sleep 30")
	for _, c := range []*exec.Cmd{runaway, calm} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	}
	time.Sleep(time.Second) // let ps see the CPU use
	h := newHarness(t)
	if _, err := runShipped(t, h, "linux.kill_process", map[string]any{
		"target": "localhost", "process": "medicrunaway", "min_cpu_percent": 2, "settle_seconds": 1,
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runaway.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the runaway is still running")
	}
	if calm.ProcessState != nil || calm.Process.Signal(syscallZero) != nil {
		t.Fatal("the calm process with the same name was signalled")
	}
}

func TestRestartServiceRestartsAndVerifies(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	state := filepath.Join(dir, "state")
	fake := "#!/bin/sh\necho \"$*\" >> '" + log + "'\nverb=$1; shift; [ \"$1\" = -- ] && shift\ncase \"$verb\" in\n" +
		"  restart) echo active > '" + state + "' ;;\n" +
		"  is-active) cat '" + state + "' ;;\n" +
		"  status) echo \"$1 failed\" ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("failed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.tasks.SSM.Path = dir + string(os.PathListSeparator) + localrun.DefaultPath
	if _, err := runShipped(t, h, "linux.restart_service", map[string]any{"target": "localhost", "service": "nginx.service", "settle_seconds": 0}); err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	if got := string(calls); !strings.Contains(got, "restart -- nginx.service\n") || !strings.Contains(got, "is-active -- nginx.service\n") {
		t.Fatalf("systemctl calls:\n%s", got)
	}

	// A unit name that is not one is refused when the run is planned, so
	// it reaches no step at all, not even diagnose's systemctl status (an
	// option there would make systemctl connect to a host it names).
	a, _ := shippedPacks(t).Action("linux.restart_service")
	for _, hostile := range []string{"-x; reboot", "--host=evil.example", "-H evil", "-Hevil"} {
		_, err := a.ResolveParams(map[string]any{"target": "localhost", "service": hostile})
		var perr *pack.ParamError
		if !errors.As(err, &perr) || !strings.Contains(err.Error(), `parameter "service"`) || !strings.Contains(err.Error(), "systemd-unit") {
			t.Errorf("service %q: want a refusal naming the parameter and format, got %v", hostile, err)
		}
	}
	// The command's own check stays as a second line of defence: a plan
	// built around the schema still does not restart.
	_ = os.Remove(log)
	h = newHarness(t)
	h.tasks.SSM.Path = dir + string(os.PathListSeparator) + localrun.DefaultPath
	_, err := runShippedUnchecked(t, h, "linux.restart_service", map[string]any{"target": "localhost", "service": "-x; reboot", "settle_seconds": 0, "max_attempts": 1})
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.RemediationFailed" {
		t.Fatalf("want Medic.RemediationFailed, got %v", err)
	}
	if calls, err := os.ReadFile(log); err == nil {
		t.Fatalf("systemctl was called with a value that is not a unit name: %s", calls)
	}
}

func TestCollectDiagnosticsReportsTheHost(t *testing.T) {
	h := newHarness(t)
	out, err := runShipped(t, h, "linux.collect_diagnostics", map[string]any{"hosts": "localhost", "lines": 5})
	if err != nil {
		t.Fatal(err)
	}
	stdout := invocations(t, out["results"])["localhost"]["StandardOutputContent"].(string)
	for _, section := range []string{"=== host ===", "=== memory ===", "=== disks ===", "=== top processes by CPU ==="} {
		if !strings.Contains(stdout, section) {
			t.Errorf("no %q in\n%s", section, stdout)
		}
	}
}

// fakeAWS scripts the EC2 and Auto Scaling calls the aws_ec2 machines make.
type fakeAWS struct {
	mu       sync.Mutex
	calls    []string
	statuses []string // DescribeInstanceStatus answers, in order
	states   []string // DescribeInstances answers, in order
	group    map[string]any
	fail     map[string]*asl.Error
}

func (f *fakeAWS) Invoke(_ context.Context, req asl.TaskRequest) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := req.Resource[strings.LastIndex(req.Resource, ":")+1:]
	f.calls = append(f.calls, op)
	if err := f.fail[op]; err != nil {
		return nil, err
	}
	switch op {
	case "describeInstanceStatus":
		s := f.statuses[0]
		if len(f.statuses) > 1 {
			f.statuses = f.statuses[1:]
		}
		return map[string]any{"InstanceStatuses": []any{map[string]any{
			"InstanceId": "i-1", "InstanceStatus": map[string]any{"Status": s}, "SystemStatus": map[string]any{"Status": s}}}}, nil
	case "describeInstances":
		s := f.states[0]
		if len(f.states) > 1 {
			f.states = f.states[1:]
		}
		return map[string]any{"Reservations": []any{map[string]any{"Instances": []any{map[string]any{"State": map[string]any{"Name": s}}}}}}, nil
	case "describeAutoScalingGroups":
		if f.group == nil {
			return map[string]any{"AutoScalingGroups": []any{}}, nil
		}
		return map[string]any{"AutoScalingGroups": []any{f.group}}, nil
	case "setDesiredCapacity":
		f.group["DesiredCapacity"] = req.Input.(map[string]any)["DesiredCapacity"]
		return map[string]any{}, nil
	case "invoke":
		return map[string]any{"StatusCode": 200.0, "Payload": nil}, nil
	}
	return map[string]any{}, nil
}

func runAWS(t *testing.T, f *fakeAWS, ref string, given map[string]any) (any, error) {
	t.Helper()
	a, _ := shippedPacks(t).Action(ref)
	params, err := a.ResolveParams(given)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Build(a, params, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	m := newHarness(t).machine(plan.StateMachine)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Run(ctx, plan.Input, asl.Options{Tasks: f, Clock: asl.NewVirtualClock(time.Unix(0, 0))})
}

func TestRebootWaitsForStatusChecks(t *testing.T) {
	f := &fakeAWS{statuses: []string{"initializing", "initializing", "ok"}}
	if _, err := runAWS(t, f, "aws_ec2.reboot_instance", map[string]any{"instance_id": "i-1"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, ","); got != "rebootInstances,describeInstanceStatus,describeInstanceStatus,describeInstanceStatus,invoke" {
		t.Fatalf("calls %s", got)
	}
	f = &fakeAWS{statuses: []string{"impaired"}}
	_, err := runAWS(t, f, "aws_ec2.reboot_instance", map[string]any{"instance_id": "i-1", "max_checks": 3})
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.RemediationFailed" || strings.Count(strings.Join(f.calls, ","), "describeInstanceStatus") != 3 {
		t.Fatalf("got %v after %v", err, f.calls)
	}
}

func TestRecoverStopsThenStarts(t *testing.T) {
	f := &fakeAWS{states: []string{"stopping", "stopped", "pending", "running"}}
	if _, err := runAWS(t, f, "aws_ec2.recover_instance", map[string]any{"instance_id": "i-1"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, ","); got != "stopInstances,describeInstances,describeInstances,startInstances,describeInstances,describeInstances,invoke" {
		t.Fatalf("calls %s", got)
	}
	f = &fakeAWS{fail: map[string]*asl.Error{"stopInstances": {Name: "Ec2.Ec2Exception", Cause: "IncorrectInstanceState"}}}
	_, err := runAWS(t, f, "aws_ec2.recover_instance", map[string]any{"instance_id": "i-1"})
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.RemediationFailed" {
		t.Fatalf("got %v", err)
	}
}

func TestScaleASGStaysWithinLimits(t *testing.T) {
	cases := []struct {
		desired, adjust float64
		want            any
		err             string
	}{
		{2, 1, 3.0, ""},
		{4, 3, 5.0, ""}, // clamped to MaxSize
		{5, 1, 5.0, "Medic.AtCapacityLimit"},
		{2, -5, 1.0, ""}, // clamped to MinSize
	}
	for _, c := range cases {
		f := &fakeAWS{group: map[string]any{"AutoScalingGroupName": "web", "DesiredCapacity": c.desired, "MinSize": 1.0, "MaxSize": 5.0}}
		_, err := runAWS(t, f, "aws_ec2.scale_asg", map[string]any{"group": "web", "adjust_by": c.adjust})
		var aerr *asl.Error
		if c.err != "" && (!errors.As(err, &aerr) || aerr.Name != c.err) || c.err == "" && err != nil {
			t.Errorf("%v: got %v, want %q", c, err, c.err)
		}
		if f.group["DesiredCapacity"] != c.want {
			t.Errorf("%v: desired %v, want %v", c, f.group["DesiredCapacity"], c.want)
		}
	}
	_, err := runAWS(t, &fakeAWS{}, "aws_ec2.scale_asg", map[string]any{"group": "nope"})
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.NoSuchGroup" {
		t.Fatalf("got %v", err)
	}
}

func TestCoreNotifyReachesTheNotifyFunction(t *testing.T) {
	h := newHarness(t)
	if _, err := runShipped(t, h, "core.notify", map[string]any{"message": "disk cleaned", "severity": "warning"}); err != nil {
		t.Fatal(err)
	}
	if n := h.lastNotice(); n["kind"] != "message" || n["message"] != "disk cleaned" || n["severity"] != "warning" {
		t.Fatalf("notice %v", n)
	}
}

func TestCoreAskWaitsForTheDecision(t *testing.T) {
	cases := []struct {
		answer  func(hub *asl.TokenHub, token string)
		timeout int
		wantErr string
	}{
		{func(hub *asl.TokenHub, token string) {
			hub.Success(token, map[string]any{"approved": true, "by": "U1"})
		}, 60, ""},
		{func(hub *asl.TokenHub, token string) { hub.Failure(token, "Medic.ApprovalRejected", "no") }, 60, "Medic.ApprovalRejected"},
		{func(*asl.TokenHub, string) {}, 1, "Medic.ApprovalExpired"},
	}
	for _, c := range cases {
		h := newHarness(t)
		hub := asl.NewTokenHub()
		var request map[string]any
		h.tasks.Functions["medic-approval"] = func(_ context.Context, p any) (any, error) {
			request = p.(map[string]any)
			c.answer(hub, request["token"].(string))
			return map[string]any{}, nil
		}
		a, _ := shippedPacks(t).Action("core.ask")
		params, err := a.ResolveParams(map[string]any{"question": "restart nginx?", "approvers": []any{"S_SRE"}, "timeout_seconds": c.timeout})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := Build(a, params, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.machine(plan.StateMachine).Run(context.Background(), plan.Input, asl.Options{Tasks: h, Tokens: hub, ExecutionName: "ask-1"})
		var aerr *asl.Error
		switch {
		case c.wantErr == "" && (err != nil || out.(map[string]any)["decision"].(map[string]any)["by"] != "U1"):
			t.Errorf("approval: %v %v", out, err)
		case c.wantErr != "" && (!errors.As(err, &aerr) || aerr.Name != c.wantErr):
			t.Errorf("want %s, got %v", c.wantErr, err)
		}
		if request["action"] != "core.ask" || request["execution"] != "ask-1" || request["params"].(map[string]any)["question"] != "restart nginx?" ||
			!reflect.DeepEqual(request["approvers"], []any{"S_SRE"}) {
			t.Errorf("approval request %v", request)
		}
	}
}

// Chat commands of the shipped aliases resolve to runnable plans.
func TestShippedAliasesBuildPlans(t *testing.T) {
	set := shippedPacks(t)
	commands := map[string]string{
		"linux.restart_service":   "restart service nginx on i-0abc",
		"linux.diagnose":          "diagnose i-0abc with 20 log lines",
		"linux.kill_process":      "kill runaway java on i-0abc",
		"aws_ec2.reboot_instance": "reboot instance i-0abc",
		"aws_ec2.scale_asg":       "scale web by 2",
		"core.notify":             "say disk is fine again",
	}
	if n := len(set.Aliases()); n != len(commands) {
		t.Errorf("%d aliases, %d commands", n, len(commands))
	}
	for _, al := range set.Aliases() {
		cmd, ok := commands[al.Ref]
		if !ok {
			t.Errorf("%s: add a command for it to this test", al.Ref)
			continue
		}
		given, ok := al.Match(cmd)
		if !ok {
			t.Errorf("%s does not match %q", al.Ref, cmd)
			continue
		}
		a, _ := set.Action(al.ActionRef)
		params, err := a.ResolveParams(given)
		if err != nil {
			t.Errorf("%s: %v", al.Ref, err)
			continue
		}
		if _, err := Build(a, params, Settings{}); err != nil {
			t.Errorf("%s: %v", al.Ref, err)
		}
	}
}

// linux.free_disk judges the path after cleaning it: "//etc" and
// "/tmp/../etc" are /etc, refused when the run is planned (the string match
// in the remediate command let both through, and a file under /etc was
// deleted). A path that cleans to an allowed directory is passed on clean.
func TestFreeDiskRefusesSystemDirectoriesHoweverWritten(t *testing.T) {
	a, _ := shippedPacks(t).Action("linux.free_disk")
	for _, path := range []string{"//etc", "/tmp/../etc", "/etc/", "/./usr/lib", "/var/../boot/grub", "/", "//", "/tmp/../..", "/lib64/x"} {
		_, err := a.ResolveParams(map[string]any{"target": "localhost", "path": path})
		if err == nil || !strings.Contains(err.Error(), `parameter "path"`) || !strings.Contains(err.Error(), "not_under forbids") {
			t.Errorf("path %q: want a not_under refusal naming the parameter, got %v", path, err)
		}
	}
	for _, bad := range []string{"tmp", "--files0-from=/proc/self/environ", "/tmp/x\n/etc", "/tmp/\x00"} {
		if _, err := a.ResolveParams(map[string]any{"target": "localhost", "path": bad}); err == nil || !strings.Contains(err.Error(), "format absolute-path") {
			t.Errorf("path %q: want a format refusal, got %v", bad, err)
		}
	}
	for _, pattern := range []string{"*/../*", "-delete", "../x", "a\nb", "$(x)", ""} {
		if _, err := a.ResolveParams(map[string]any{"target": "localhost", "path": "/tmp", "pattern": pattern}); err == nil || !strings.Contains(err.Error(), `parameter "pattern"`) {
			t.Errorf("pattern %q: want a refusal, got %v", pattern, err)
		}
	}
	params, err := a.ResolveParams(map[string]any{"target": "localhost", "path": "/tmp/x/../medic//scratch/"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Build(a, params, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if script := plan.Input["commands"].(map[string]any)["remediate"].(string); !strings.Contains(script, "path='/tmp/medic/scratch'") {
		t.Fatalf("the command does not get the clean path:\n%s", script)
	}
}

// The same through a rule, from an alert: the disk alarm whose path
// dimension is "//etc" plans nothing.
func TestDiskAlarmWithATraversingPathIsRefusedAtPlanning(t *testing.T) {
	set := shippedPacks(t)
	for _, path := range []string{"//etc", "/tmp/../etc", "--files0-from=/proc/self/environ"} {
		tr := alarm("disk_used_percent", "i-0abc", map[string]any{"path": path})
		for _, ev := range rule.NewIndex(set.Rules()).Evaluate(tr, noKV{}) {
			if !ev.Fires() {
				continue
			}
			a, _ := set.Action(ev.Rule.Action.Ref)
			var perr *pack.ParamError
			if _, err := a.ResolveParams(ev.Params); !errors.As(err, &perr) {
				t.Errorf("path %q: %s planned: %v", path, ev.Rule.Ref, err)
			}
		}
	}
}

// Every parameter of every shipped action that a rule or a chat user can
// set is constrained beyond its type (objects excepted: env and headers
// are quoted or sent as data, never parsed as arguments).
func TestEveryShippedParameterIsConstrained(t *testing.T) {
	for _, a := range shippedPacks(t).Actions() {
		for name, p := range a.Parameters {
			if p.Immutable || p.Type == "object" {
				continue
			}
			if !p.HasConstraint() {
				t.Errorf("%s: parameter %s (%s) has no pattern, enum, format, bounds or length limit", a.Ref, name, p.Type)
			}
		}
	}
}

// Every shipped string parameter that is not free text by design refuses
// values that could become an option, a second command, a second line or
// a path elsewhere, whatever the action.
func TestShippedParametersRefuseHostileValues(t *testing.T) {
	freeText := map[string]bool{ // quoted as data, never an argument or a name
		"core.local.cmd": true, "core.remote.cmd": true, "core.notify.message": true,
		"core.ask.question": true, "core.http.body": true,
	}
	hostile := []string{"--host=evil.example", "-H evil", "-Hevil", "--files0-from=/proc/self/environ",
		"$(touch PWNED)", "`touch PWNED`", "x; touch PWNED", "x\ntouch PWNED", "x\x00y", "../../etc/passwd",
		"x' y", "ｎｇｉｎｘ\u202e", strings.Repeat("A", 70000)}
	// AWS names that only ever travel as Step Functions API parameters,
	// never through a shell: AWS allows any printable text in an alarm
	// name, and a leading "-" or a "/" in the others. They still refuse
	// control characters, second lines and oversized values.
	apiData := map[string]bool{"alarm_name": true, "metric_name": true, "function_name": true, "ecs_service": true, "cluster": true}
	printable := func(v string) bool { return len(v) < 1024 && !strings.ContainsAny(v, "\x00\n") }
	checked := 0
	for _, a := range shippedPacks(t).Actions() {
		for name, p := range a.Parameters {
			if p.Immutable || (p.Type != "string" && p.Type != "array") || freeText[a.Ref+"."+name] {
				continue
			}
			checked++
			for _, v := range hostile {
				if strings.HasPrefix(a.Ref, "aws_") && apiData[name] && printable(v) {
					continue
				}
				given := map[string]any{name: v}
				if p.Type == "array" {
					given[name] = []any{v}
				}
				_, err := a.ResolveParams(given)
				var perr *pack.ParamError
				if !errors.As(err, &perr) || !strings.Contains(err.Error(), fmt.Sprintf("parameter %q", name)) {
					t.Errorf("%s.%s accepts %.60q", a.Ref, name, v)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d parameters checked", checked)
	}
}
