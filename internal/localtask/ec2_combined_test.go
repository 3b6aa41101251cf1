package localtask_test

import (
	"testing"

	"github.com/medic-sre/medic/internal/localtask"
)

// aws_ec2.reboot_then_recover_instance (the combined StatusCheckFailed
// alarm) against the simulated fleet.

const combinedFleet = `
instances:
  - {id: i-0000000000000000a, instance_status: impaired}
  - {id: i-0000000000000000b, instance_status: impaired, reboot_fixes: false}
  - {id: i-0000000000000000c, system_status: impaired, instance_status: impaired}
  - {id: i-0000000000000000d, state: stopped}
`

func combinedRun(t *testing.T) *ec2Run {
	t.Helper()
	f, err := localtask.ParseFleet([]byte(combinedFleet))
	if err != nil {
		t.Fatal(err)
	}
	return &ec2Run{fleet: f}
}

func TestCombinedCheckARebootIsEnough(t *testing.T) {
	r := combinedRun(t)
	out, err := r.run(t, "aws_ec2.reboot_then_recover_instance", map[string]any{"instance_id": "i-0000000000000000a"})
	if err != nil || out["step"] != "reboot" {
		t.Fatalf("%v %v", out, err)
	}
	if state, is, sys, _ := r.fleet.Instance("i-0000000000000000a"); state != "running" || is != "ok" || sys != "ok" {
		t.Fatalf("after: %s %s %s", state, is, sys)
	}
	if n := r.last(t); n["kind"] != "ec2_reboot_then_recover" || n["ok"] != true || n["step"] != "reboot" {
		t.Fatalf("notice %v", n)
	}
}

// The reboot does not fix the instance check: after max_checks polls the
// instance is stopped and started.
func TestCombinedCheckRecoversWhenTheRebootDidNotHelp(t *testing.T) {
	r := combinedRun(t)
	out, err := r.run(t, "aws_ec2.reboot_then_recover_instance", map[string]any{"instance_id": "i-0000000000000000b", "max_checks": 4})
	if err != nil || out["step"] != "recover" || out["reboot_checks"] != 4.0 {
		t.Fatalf("%v %v", out, err)
	}
	if state, is, sys, _ := r.fleet.Instance("i-0000000000000000b"); state != "running" || is != "ok" || sys != "ok" {
		t.Fatalf("after: %s %s %s", state, is, sys)
	}
}

// A failed system check goes to recovery at the first poll: no reboot
// fixes the host, so no time is spent waiting for one.
func TestCombinedCheckRecoversAtOnceOnASystemFault(t *testing.T) {
	r := combinedRun(t)
	out, err := r.run(t, "aws_ec2.reboot_then_recover_instance", map[string]any{"instance_id": "i-0000000000000000c", "max_checks": 10})
	if err != nil || out["step"] != "recover" {
		t.Fatalf("%v %v", out, err)
	}
	if out["reboot_checks"] != 1.0 {
		t.Fatalf("polled %v times after the reboot, want 1", out["reboot_checks"])
	}
}

func TestCombinedCheckEscalatesWhatItCannotFix(t *testing.T) {
	r := combinedRun(t)
	// A stopped instance cannot be rebooted: EC2 refuses, Medic escalates.
	_, err := r.run(t, "aws_ec2.reboot_then_recover_instance", map[string]any{"instance_id": "i-0000000000000000d"})
	wantError(t, err, "Medic.RemediationFailed")
	if e := r.last(t)["error"].(map[string]any); e["Error"] != "Ec2.Ec2Exception" {
		t.Fatalf("error %v", e)
	}
	_, err = r.run(t, "aws_ec2.reboot_then_recover_instance", map[string]any{"instance_id": "i-0ffffffffffffffff"})
	wantError(t, err, "Medic.RemediationFailed")
}
