package action

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/pack"
)

func remediationAction() *pack.Action {
	return &pack.Action{Ref: "linux.free_disk", RunnerType: RunnerRemediation}
}

func TestRemediationPlanQuotesAlertData(t *testing.T) {
	hostile := `/tmp/x'; touch /tmp/pwned; echo '$(id)` + "\nrm -rf /"
	plan, err := Build(remediationAction(), map[string]any{
		"target":    "localhost",
		"path":      hostile,
		"diagnose":  `printf '%s' "$path"`,
		"remediate": "true",
	}, Settings{PollSeconds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if plan.StateMachine != MachineRemediation {
		t.Fatalf("machine %q", plan.StateMachine)
	}
	script := plan.Input["commands"].(map[string]any)["diagnose"].(string)
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != hostile {
		t.Fatalf("the command saw %q, want the value verbatim", out)
	}
	if got := plan.Input["commands"].(map[string]any)["verify"]; got == "" || !strings.HasSuffix(got.(string), "true") {
		t.Fatalf("a left-out phase must pass, got %q", got)
	}
	if plan.Input["poll_seconds"] != 3.0 || plan.Input["max_attempts"] != 2.0 {
		t.Fatalf("defaults: %v", plan.Input)
	}
}

func TestRemediationPlanNeedsTarget(t *testing.T) {
	_, err := Build(remediationAction(), map[string]any{"path": "/tmp"}, Settings{})
	if err == nil || !strings.Contains(err.Error(), "target") {
		t.Fatalf("want error naming target, got %v", err)
	}
}

func TestWorkflowPlanAndUnknownRunner(t *testing.T) {
	plan, err := Build(&pack.Action{Ref: "core.notify", RunnerType: RunnerWorkflow, EntryPoint: "notify"}, map[string]any{"message": "hi"}, Settings{})
	if err != nil || plan.StateMachine != "notify" || plan.Input["message"] != "hi" {
		t.Fatalf("%+v %v", plan, err)
	}
	if _, err := Build(&pack.Action{Ref: "x.y", RunnerType: "python-script"}, nil, Settings{}); err == nil || !strings.Contains(err.Error(), "python-script") {
		t.Fatalf("want error naming the runner, got %v", err)
	}
}
