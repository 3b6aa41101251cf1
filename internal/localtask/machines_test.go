package localtask_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/workflow"
)

// The aws_ec2 pack's actions, built as `medic run` builds them and run in
// the interpreter against the simulated fleet: the local path end to end.

const fleetFile = `
instances:
  - {id: i-0sick, instance_status: impaired}
  - {id: i-0stuck, instance_status: impaired, reboot_fixes: false}
  - {id: i-0badhw, system_status: impaired, instance_status: impaired}
auto_scaling_groups:
  - {name: web, min: 1, max: 3, desired: 2}
  - {name: full, min: 1, max: 3, desired: 3}
`

var subs = map[string]string{"NotifyFunctionArn": "medic-notify", "HttpFunctionArn": "medic-http", "ApprovalFunctionArn": "medic-approval"}

type ec2Run struct {
	fleet    *localtask.Fleet
	mu       sync.Mutex
	notified []map[string]any
}

func (r *ec2Run) run(t *testing.T, ref string, params map[string]any) (map[string]any, error) {
	t.Helper()
	packs, err := pack.LoadDir("../../packs")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := packs.Action(ref)
	if !ok {
		t.Fatalf("no action %s", ref)
	}
	resolved, err := a.ResolveParams(params)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := action.Build(a, resolved, action.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := workflow.LoadLibrary("../../statemachines", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := lib.Machine(plan.StateMachine)
	if !ok {
		t.Fatalf("no machine %s", plan.StateMachine)
	}
	h := &localtask.Handler{Fleet: r.fleet, Functions: map[string]localtask.Function{
		"medic-notify": func(_ context.Context, p any) (any, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.notified = append(r.notified, p.(map[string]any))
			return nil, nil
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := m.Run(ctx, plan.Input, asl.Options{Tasks: h, Clock: asl.NewVirtualClock(time.Unix(0, 0)), ExecutionName: "test"})
	res, _ := out.(map[string]any)
	return res, err
}

func (r *ec2Run) last(t *testing.T) map[string]any {
	t.Helper()
	if len(r.notified) == 0 {
		t.Fatal("nothing was notified")
	}
	return r.notified[len(r.notified)-1]
}

func newRun(t *testing.T) *ec2Run {
	f, err := localtask.ParseFleet([]byte(fleetFile))
	if err != nil {
		t.Fatal(err)
	}
	return &ec2Run{fleet: f}
}

func wantError(t *testing.T, err error, name string) {
	t.Helper()
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != name {
		t.Fatalf("want %s, got %v", name, err)
	}
}

func TestRebootInstanceHealsLocally(t *testing.T) {
	r := newRun(t)
	if _, err := r.run(t, "aws_ec2.reboot_instance", map[string]any{"instance_id": "i-0sick"}); err != nil {
		t.Fatal(err)
	}
	if _, is, _, _ := r.fleet.Instance("i-0sick"); is != "ok" {
		t.Fatalf("instance status %s after the reboot", is)
	}
	if n := r.last(t); n["kind"] != "ec2_reboot" || n["ok"] != true || n["checks"] != 2.0 {
		t.Fatalf("notice %v", n)
	}
}

func TestRebootInstanceEscalatesWhenChecksStayBad(t *testing.T) {
	r := newRun(t)
	for _, id := range []string{"i-0stuck", "i-0badhw"} {
		_, err := r.run(t, "aws_ec2.reboot_instance", map[string]any{"instance_id": id, "max_checks": 4})
		wantError(t, err, "Medic.RemediationFailed")
		if n := r.last(t); n["kind"] != "ec2_reboot" || n["ok"] != false || n["instance_id"] != id {
			t.Fatalf("notice %v", n)
		}
	}
}

func TestUnknownInstanceFailsWithEC2sError(t *testing.T) {
	r := newRun(t)
	for _, ref := range []string{"aws_ec2.reboot_instance", "aws_ec2.recover_instance"} {
		_, err := r.run(t, ref, map[string]any{"instance_id": "i-0nope"})
		wantError(t, err, "Medic.RemediationFailed")
		e := r.last(t)["error"].(map[string]any)
		if e["Error"] != "Ec2.Ec2Exception" || e["Cause"] != "The instance ID 'i-0nope' does not exist (Service: Ec2, Status Code: 400, Error Code: InvalidInstanceID.NotFound)" {
			t.Fatalf("%s: error %v", ref, e)
		}
	}
}

func TestRecoverInstanceStopsAndStartsOnHealthyHardware(t *testing.T) {
	r := newRun(t)
	if _, err := r.run(t, "aws_ec2.recover_instance", map[string]any{"instance_id": "i-0badhw"}); err != nil {
		t.Fatal(err)
	}
	if state, _, sys, _ := r.fleet.Instance("i-0badhw"); state != "running" || sys == "impaired" {
		t.Fatalf("after recovery: %s, system %s", state, sys)
	}
	if n := r.last(t); n["kind"] != "ec2_recover" || n["ok"] != true {
		t.Fatalf("notice %v", n)
	}
}

func TestScaleASGLocally(t *testing.T) {
	r := newRun(t)
	out, err := r.run(t, "aws_ec2.scale_asg", map[string]any{"group": "web", "adjust_by": 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, desired, _ := r.fleet.Group("web"); desired != 3 || out["capacity"].(map[string]any)["wanted"] != 3.0 {
		t.Fatalf("desired %d, output %v (want clamped to MaxSize 3)", desired, out)
	}
	// The group at its max: nothing changes, the run says so.
	_, err = r.run(t, "aws_ec2.scale_asg", map[string]any{"group": "full", "adjust_by": 1})
	wantError(t, err, "Medic.AtCapacityLimit")
	if _, _, desired, _ := r.fleet.Group("full"); desired != 3 {
		t.Fatalf("full group changed to %d", desired)
	}
	_, err = r.run(t, "aws_ec2.scale_asg", map[string]any{"group": "nope"})
	wantError(t, err, "Medic.NoSuchGroup")
}
