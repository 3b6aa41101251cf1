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
	req := plan.Input["send_command"].(map[string]any)
	want := []any{map[string]any{"Key": "tag:Role", "Values": []any{"web-a", "web-b"}}}
	if !reflect.DeepEqual(req["Targets"], want) || req["MaxConcurrency"] != "50%" || req["MaxErrors"] != "1" || req["InstanceIds"] != nil {
		t.Fatalf("request %v", req)
	}
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	if invs := invocations(t, out["results"]); len(invs) != 2 || invs["web-a"]["Status"] != "Success" {
		t.Fatalf("results %v", invs)
	}
}

func TestSendCommandRequestShape(t *testing.T) {
	plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{
		"cmd": "run", "instance_ids": []any{"i-1", "i-2"}, "cwd": "/srv", "timeout": 90,
		"env": map[string]any{"LANG": "C"}, "output_s3_prefix": "runs/",
	}, Settings{OutputS3Bucket: "medic-output", CloudWatchLogGroup: "/medic/commands"})
	if err != nil {
		t.Fatal(err)
	}
	req := plan.Input["send_command"].(map[string]any)
	p := req["Parameters"].(map[string]any)
	if !reflect.DeepEqual(req["InstanceIds"], []any{"i-1", "i-2"}) || req["DocumentName"] != "AWS-RunShellScript" ||
		req["TimeoutSeconds"] != 90.0 || !reflect.DeepEqual(p["executionTimeout"], []any{"90"}) ||
		!reflect.DeepEqual(p["workingDirectory"], []any{"/srv"}) {
		t.Fatalf("request %v", req)
	}
	if req["OutputS3BucketName"] != "medic-output" || req["OutputS3KeyPrefix"] != "runs/" ||
		req["CloudWatchOutputConfig"].(map[string]any)["CloudWatchLogGroupName"] != "/medic/commands" {
		t.Fatalf("output config %v", req)
	}
	script := p["commands"].([]any)[0].(string)
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
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "targets": "tag:Role"}, "want KEY=V1,V2"},
		{RunnerRemoteShellCmd, map[string]any{"hosts": "a", "cmd": "true", "timeout": -5}, "positive number of seconds"},
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
	script := plan.Input["send_command"].(map[string]any)["Parameters"].(map[string]any)["commands"].([]any)[0].(string)
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
	script := plan.Input["send_command"].(map[string]any)["Parameters"].(map[string]any)["commands"].([]any)[0].(string)
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
