package localtask_test

import (
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
)

// aws_elb.heal_unhealthy_targets (statemachines/elb-heal-targets) against
// the simulated account and fleet: the target group's members are the
// fleet group's instances; the restart really runs through the local SSM.

const elbAccount = `
target_groups:
  - name: targetgroup/web/73e2d6bc24d8a067
    auto_scaling_group: web
    port: 80
    service_down: [i-00000000000000002]
    restart_fixes: %s
    tags: {"medic:service": "%s"}
`

const elbFleet = `
instances:
  - {id: i-00000000000000001, tags: {"aws:autoscaling:groupName": web}}
  - {id: i-00000000000000002, tags: {"aws:autoscaling:groupName": web}}
auto_scaling_groups:
  - {name: web, min: 1, max: 4, desired: 2}
`

func elbRun(t *testing.T, restartFixes, service string) *accountRun {
	t.Helper()
	a, err := localtask.ParseAccount([]byte(strings.NewReplacer("%s", restartFixes).Replace(strings.Replace(elbAccount, `"%s"`, `"`+service+`"`, 1))))
	if err != nil {
		t.Fatal(err)
	}
	f, err := localtask.ParseFleet([]byte(elbFleet))
	if err != nil {
		t.Fatal(err)
	}
	// The shipped command needs systemd; this one reports what it got.
	return &accountRun{account: a, fleet: f, hub: asl.NewTokenHub(), override: map[string]any{"restart_command": `echo "restarting $service"`}}
}

func heal(r *accountRun, t *testing.T, extra map[string]any) (map[string]any, error) {
	return r.run(t, "aws_elb.heal_unhealthy_targets", with(map[string]any{"target_group": "targetgroup/web/73e2d6bc24d8a067",
		"region": "us-east-1", "account": "123456789012", "poll_seconds": 1, "settle_seconds": 5, "verify_checks": 3}, extra))
}

func TestRestartThroughSSMHealsTheTarget(t *testing.T) {
	r := elbRun(t, "true", "nginx.service")
	out, err := heal(r, t, nil)
	if err != nil || out["healed"] != true || out["step"] != "restart" {
		t.Fatalf("%v %v", out, err)
	}
	results := out["results"].([]any)
	res := results[0].(map[string]any)
	if len(results) != 1 || res["instance_id"] != "i-00000000000000002" || res["status"] != "Success" || res["output"] != "restarting nginx.service\n" {
		t.Fatalf("results %v", results)
	}
	if len(r.asked) != 0 {
		t.Errorf("asked %v", r.asked)
	}
}

// The restart does not help: with approval the target is replaced through
// its Auto Scaling group, the replacement passes the health check.
func TestStillUnhealthyTargetIsReplacedAfterApproval(t *testing.T) {
	r := elbRun(t, "false", "nginx.service")
	r.answer = approve
	out, err := heal(r, t, nil)
	if err != nil || out["healed"] != true || out["step"] != "replace" {
		t.Fatalf("%v %v", out, err)
	}
	if len(r.asked) != 1 || !strings.Contains(r.asked[0]["params"].(map[string]any)["question"].(string), "i-00000000000000002") {
		t.Errorf("approval %v", r.asked)
	}
	if state, _, _, _ := r.fleet.Instance("i-00000000000000002"); state != "shutting-down" && state != "terminated" {
		t.Errorf("the unhealthy instance is %s, want it terminating", state)
	}
	if _, _, desired, _ := r.fleet.Group("web"); desired != 2 {
		t.Errorf("desired %d changed", desired)
	}
	for _, tg := range out["targets"].([]any) {
		if s := tg.(map[string]any)["state"]; s == "unhealthy" {
			t.Errorf("targets %v", out["targets"])
		}
	}
}

func TestReplacementRejectedLeavesTheTargets(t *testing.T) {
	r := elbRun(t, "false", "nginx.service")
	r.answer = reject
	_, err := heal(r, t, nil)
	wantError(t, err, "Medic.ApprovalRejected")
	if state, _, _, _ := r.fleet.Instance("i-00000000000000002"); state != "running" {
		t.Errorf("instance %s after a rejection", state)
	}
}

// A service tag that is not a unit name is never sent to an instance: no
// restart, the replacement is offered straight away.
func TestHostileServiceTagIsNotRestarted(t *testing.T) {
	for _, tag := range []string{"nginx; reboot", "$(reboot)", "-nginx", "a'b", ""} {
		r := elbRun(t, "true", tag)
		r.answer = reject
		out, err := heal(r, t, nil)
		wantError(t, err, "Medic.ApprovalRejected")
		if len(r.asked) != 1 || !strings.Contains(r.asked[0]["params"].(map[string]any)["question"].(string), "No service to restart") {
			t.Errorf("%q: %v %v", tag, out, r.asked)
		}
		if n := r.notice(t, "elb_targets"); n["results"] != nil && len(n["results"].([]any)) != 0 {
			t.Errorf("%q: a command ran: %v", tag, n["results"])
		}
	}
}

func TestNoUnhealthyTargetNothingToDo(t *testing.T) {
	r := elbRun(t, "true", "nginx.service")
	r.account.CommandSent([]string{"i-00000000000000002"})
	out, err := heal(r, t, nil)
	if err != nil || out["step"] != "none" {
		t.Fatalf("%v %v", out, err)
	}
}
