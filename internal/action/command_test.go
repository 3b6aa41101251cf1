package action

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/pack"
)

func shellAction(runner string, params map[string]*pack.Param) *pack.Action {
	return &pack.Action{Ref: "t.cmd", RunnerType: runner, Parameters: params}
}

func TestLocalShellCmdRunsOnThisMachine(t *testing.T) {
	h := newHarness(t)
	plan, err := Build(shellAction(RunnerLocalShellCmd, nil), map[string]any{
		"cmd": `printf '%s in %s' "$greeting" "$(pwd)"; printf 'warn' >&2`, "greeting": "hello", "cwd": "/tmp",
	}, Settings{PollSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	inv := invocations(t, out["results"])[LocalTarget]
	if inv["Status"] != "Success" || inv["ResponseCode"] != 0.0 || inv["StandardOutputContent"] != "hello in /tmp" || inv["StandardErrorContent"] != "warn" {
		t.Fatalf("invocation %v", inv)
	}
	n := h.lastNotice()
	if n["kind"] != "command_result" || n["ok"] != true || n["notify"].(map[string]any)["action"] != "t.cmd" {
		t.Fatalf("notice %v", n)
	}
}

func TestFailedAndTimedOutCommandsFailTheRun(t *testing.T) {
	cases := []struct {
		params map[string]any
		status string
		code   float64
	}{
		{map[string]any{"cmd": "echo partial; exit 3"}, "Failed", 3},
		{map[string]any{"cmd": "sleep 5", "timeout": 1}, "TimedOut", 137}, // the SSM agent's code for a command it killed
	}
	for _, c := range cases {
		h := newHarness(t)
		c.params["hosts"] = "web-1,web-2"
		plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), c.params, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.run(plan)
		var aerr *asl.Error
		if !errors.As(err, &aerr) || aerr.Name != "Medic.CommandFailed" {
			t.Fatalf("%v: want Medic.CommandFailed, got %v", c.params["cmd"], err)
		}
		n := h.lastNotice()
		invs := invocations(t, n["results"])
		if n["ok"] != false || len(invs) != 2 {
			t.Fatalf("notice %v", n)
		}
		for host, inv := range invs {
			if inv["Status"] != c.status || inv["ResponseCode"] != c.code {
				t.Errorf("%s on %s: %v", c.params["cmd"], host, inv)
			}
		}
	}
}

func TestTagTargetsReachEveryMatchingTarget(t *testing.T) {
	h := newHarness(t)
	plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{
		"cmd": "true", "targets": "tag:Role=web-a,web-b", "max_concurrency": "50%", "max_errors": 1,
	}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	run := plan.Input["run"].(map[string]any)
	want := []any{map[string]any{"key": "Role", "values": []any{"web-a", "web-b"}}}
	if !reflect.DeepEqual(run["tag_targets"], want) || run["max_concurrency"] != "50%" || run["max_errors"] != "1" || run["instance_ids"] != nil {
		t.Fatalf("run fields %v", run)
	}
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	if invs := invocations(t, out["results"]); len(invs) != 2 || invs["web-a"]["Status"] != "Success" {
		t.Fatalf("results %v", invs)
	}
}

// The plan carries fields, not a SendCommand request: run-command builds
// the request itself, so no document or target key comes from the input.
func TestRunCommandPlanFields(t *testing.T) {
	plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{
		"cmd": "run", "instance_ids": []any{"i-1", "i-2"}, "cwd": "/srv", "timeout": 90,
		"env": map[string]any{"LANG": "C"},
	}, Settings{CloudWatchLogGroup: "/medic/commands"})
	if err != nil {
		t.Fatal(err)
	}
	if _, raw := plan.Input["send_command"]; raw {
		t.Fatalf("the plan still carries a raw request: %v", plan.Input)
	}
	run := plan.Input["run"].(map[string]any)
	if !reflect.DeepEqual(run["instance_ids"], []any{"i-1", "i-2"}) || run["delivery_timeout"] != 90.0 ||
		run["execution_timeout"] != 90.0 || run["working_directory"] != "/srv" || run["output_log_group"] != "/medic/commands" {
		t.Fatalf("run fields %v", run)
	}
	for _, key := range []string{"DocumentName", "document", "Targets", "InstanceIds"} {
		if _, ok := run[key]; ok {
			t.Errorf("run fields carry %s: %v", key, run)
		}
	}
	script := run["commands"].([]any)[0].(string)
	if !strings.Contains(script, "LANG='C'; export LANG") || !strings.HasSuffix(script, "\nrun") {
		t.Fatalf("script %q", script)
	}
}

func TestCommandPlanRefusesBadRequests(t *testing.T) {
	cases := []struct {
		runner string
		params map[string]any
		want   string
	}{
		{RunnerRemoteShellCmd, map[string]any{"cmd": "true"}, "needs hosts, instance_ids or targets"},
		{RunnerRemoteShellCmd, map[string]any{"cmd": "true", "hosts": "a", "targets": "tag:x=y"}, "not both"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a"}, "parameter cmd is required"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "echo {{ trigger.x }}"}, "Jinja template"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "targets": "tag:Role"}, "want tag:KEY=V1,V2"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "timeout": -5}, "timeout must be 1 to 3600 seconds"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "timeout": 86400}, "timeout must be 1 to 3600 seconds"},
		// Hostile targets: SSM's other keys reach instances no rule named.
		{RunnerRemoteShellCmd, map[string]any{"cmd": "true", "targets": "InstanceIds=*"}, "only tag filters are allowed"},
		{RunnerRemoteShellCmd, map[string]any{"cmd": "true", "targets": "resource-groups:Name=all"}, "only tag filters are allowed"},
		{RunnerRemoteShellCmd, map[string]any{"cmd": "true", "targets": []any{map[string]any{"Key": "InstanceIds", "Values": []any{"*"}}}}, "only tag filters are allowed"},
		{RunnerRemoteShellCmd, map[string]any{"cmd": "true", "targets": "tag:=x"}, "only tag filters are allowed"},
		// Full output goes to CloudWatch Logs only.
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "output_s3_bucket": "attacker-bucket"}, "output to S3"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "env": map[string]any{"bad name": "x"}}, "not a valid shell variable name"},
		{RunnerRemoteShellScript, map[string]any{"hosts": "a"}, "needs entry_point"},
	}
	for _, c := range cases {
		_, err := Build(shellAction(c.runner, nil), c.params, Settings{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "t.cmd") {
			t.Errorf("%v: got %v, want an error naming the action and %q", c.params, err, c.want)
		}
	}
}

func TestSudoWrapsTheWholeScriptAsOneQuotedWord(t *testing.T) {
	// A stand-in sudo that, like the real one, resets the environment.
	dir := t.TempDir()
	fake := "#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec env -i PATH=\"$PATH\" \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	plan, err := Build(shellAction(RunnerLocalShellCmd, nil), map[string]any{"cmd": `printf '%s' "$v"`, "v": "a'b $(id)", "sudo": true}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	script := planScript(plan)
	if !strings.HasPrefix(script, "sudo -n sh -c '") {
		t.Fatalf("script %q", script)
	}
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil || string(out) != "a'b $(id)" {
		t.Fatalf("under sudo the command saw %q (%v)", out, err)
	}
}

func TestRemoteShellScriptPassesPositionalArgsVerbatim(t *testing.T) {
	a := loadTestAction(t, "hostile.echo_script")
	hostile := "a b'c\"$(touch pwned)`id`;\nrm -rf /"
	params, err := a.ResolveParams(map[string]any{"hosts": "localhost", "first": hostile, "second": "two", "message": "m"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Build(a, params, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	inv := invocations(t, out["results"])["localhost"]
	want := "[" + hostile + "]\n[two]\nmessage=[m]\n"
	if inv["StandardOutputContent"] != want {
		t.Fatalf("stdout %q, want %q", inv["StandardOutputContent"], want)
	}
	if _, err := os.Stat(filepath.Join(h.tasks.SSM.Dir, "pwned")); err == nil {
		t.Fatal("the payload ran a command")
	}
}

func TestScriptBodyNeedsTheScript(t *testing.T) {
	a := &pack.Action{Ref: "t.s", RunnerType: RunnerRemoteShellScript, EntryPoint: "missing.sh", File: filepath.Join(t.TempDir(), "a.yaml")}
	if _, err := Build(a, map[string]any{"hosts": "h"}, Settings{}); err == nil || !strings.Contains(err.Error(), "entry_point") {
		t.Fatalf("got %v", err)
	}
}

// The embedded script must run even when sh is not its interpreter.
func TestScriptKeepsItsInterpreter(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.awk"), []byte("#!/usr/bin/awk -f\nBEGIN { print \"awk ran\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("awk"); err != nil {
		t.Fatal("awk is needed for this test:", err)
	}
	a := &pack.Action{Ref: "t.s", RunnerType: RunnerRemoteShellScript, EntryPoint: "s.awk", File: filepath.Join(dir, "a.yaml")}
	plan, err := Build(a, map[string]any{"hosts": "h"}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	script := planScript(plan)
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil || string(out) != "awk ran\n" {
		t.Fatalf("%q %v", out, err)
	}
}

// The runner resolves entry_point again when it builds the command: a
// script swapped for a symlink out of the pack after validation (or a
// hand-made Action) is refused, and nothing of it is embedded.
func TestScriptBodyRefusesAnEntryPointOutsideThePack(t *testing.T) {
	packDir := t.TempDir()
	actions := filepath.Join(packDir, "actions")
	if err := os.MkdirAll(actions, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret.sh")
	if err := os.WriteFile(secret, []byte("#!/bin/sh\necho SECRET-BODY\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(actions, "run.sh")); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []string{"run.sh", "../../" + filepath.Base(filepath.Dir(secret)) + "/secret.sh", secret} {
		a := &pack.Action{Ref: "t.s", RunnerType: RunnerRemoteShellScript, EntryPoint: ep, File: filepath.Join(actions, "s.yaml")}
		_, err := Build(a, map[string]any{"hosts": "h"}, Settings{})
		if err == nil || !strings.Contains(err.Error(), "entry_point") || strings.Contains(err.Error(), "SECRET-BODY") {
			t.Errorf("entry_point %q: want a refusal, got %v", ep, err)
		}
	}
}
