package localtask

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
)

const sampleFleet = `
instances:
  - id: i-0web1
    instance_status: impaired
    tags: {Role: web}
  - id: i-0db1
    system_status: impaired
  - id: i-0stuck
    instance_status: impaired
    reboot_fixes: false
  - id: i-0off
    state: stopped
auto_scaling_groups:
  - {name: web, min: 1, max: 3, desired: 2, cooldown_seconds: 300}
`

func mustFleet(t *testing.T, src string) *Fleet {
	t.Helper()
	f, err := ParseFleet([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseFleetDefaultsAndStates(t *testing.T) {
	f := mustFleet(t, sampleFleet)
	for id, want := range map[string][3]string{
		"i-0web1": {"running", "impaired", "ok"},
		"i-0db1":  {"running", "ok", "impaired"},
		"i-0off":  {"stopped", "not-applicable", "not-applicable"},
	} {
		state, is, ss, ok := f.Instance(id)
		if !ok || [3]string{state, is, ss} != want {
			t.Errorf("%s: %s %s %s %v, want %v", id, state, is, ss, ok, want)
		}
	}
	if min, max, desired, ok := f.Group("web"); !ok || min != 1 || max != 3 || desired != 2 {
		t.Fatalf("group web %d %d %d %v", min, max, desired, ok)
	}
	if _, _, _, ok := f.Group("nope"); ok {
		t.Fatal("unknown group found")
	}
}

func TestParseFleetNamesTheBadField(t *testing.T) {
	cases := map[string]string{
		"instances: [{id: web1}]":                                        "instances[0].id",
		"instances: [{id: i-1}, {id: i-1}]":                              "appears twice",
		"instances: [{id: i-1, state: rebooting}]":                       "instances[0].state",
		"instances: [{id: i-1, instance_status: broken}]":                "instances[0].instance_status",
		"instances: [{id: i-1, sytem_status: ok}]":                       "sytem_status",
		"auto_scaling_groups: [{min: 1, max: 2}]":                        "auto_scaling_groups[0].name",
		"auto_scaling_groups: [{name: a, min: 3, max: 2}]":               "min 3 and max 2",
		"auto_scaling_groups: [{name: a, max: 2, desired: 5}]":           "auto_scaling_groups[0].desired",
		"auto_scaling_groups: [{name: a, max: 1, cooldown_seconds: -1}]": "cooldown_seconds",
		"auto_scaling_groups: [{name: a, max: 1}, {name: a, max: 1}]":    "appears twice",
		"instances: {id: i-1}":                                           "cannot unmarshal",
	}
	for src, want := range cases {
		_, err := ParseFleet([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", src, err, want)
		}
	}
}

func TestOpenFleetReadsTheStateDir(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFleet(dir)
	if err != nil || len(f.instances) != 0 {
		t.Fatalf("no file: %v %v", f, err)
	}
	os.WriteFile(filepath.Join(dir, "fleet.json"), []byte(`{"instances":[{"id":"i-json"}]}`), 0o600)
	if f, err = OpenFleet(dir); err != nil {
		t.Fatal(err)
	} else if _, _, _, ok := f.Instance("i-json"); !ok {
		t.Fatal("fleet.json not read")
	}
	os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte("instances: [{id: nope}]"), 0o600)
	if _, err := OpenFleet(dir); err == nil || !strings.Contains(err.Error(), "fleet.yaml") || !strings.Contains(err.Error(), "instances[0].id") {
		t.Fatalf("got %v", err)
	}
}

func ec2Code(t *testing.T, err error) string {
	t.Helper()
	var aerr *asl.Error
	if !errors.As(err, &aerr) {
		t.Fatalf("want an *asl.Error, got %v", err)
	}
	_, code, _ := strings.Cut(aerr.Cause, "Error Code: ")
	return aerr.Name + " " + strings.TrimSuffix(code, ")")
}

func ids(ids ...string) map[string]any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return map[string]any{"InstanceIds": out, "IncludeAllInstances": true}
}

func statusOf(t *testing.T, f *Fleet, id string) string {
	t.Helper()
	out, err := f.DescribeInstanceStatus(ids(id))
	if err != nil {
		t.Fatal(err)
	}
	s := out.(map[string]any)["InstanceStatuses"].([]any)[0].(map[string]any)
	return s["InstanceStatus"].(map[string]any)["Status"].(string) + "/" + s["SystemStatus"].(map[string]any)["Status"].(string)
}

func TestRebootFixesWhatARebootFixes(t *testing.T) {
	f := mustFleet(t, sampleFleet)
	for id, want := range map[string][]string{
		"i-0web1":  {"initializing/ok", "ok/ok", "ok/ok"},
		"i-0stuck": {"initializing/ok", "impaired/ok"},
		"i-0db1":   {"initializing/impaired", "impaired/impaired"}, // the hardware is still bad
	} {
		if _, err := f.RebootInstances(ids(id)); err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if got := statusOf(t, f, id); got != w {
				t.Errorf("%s observation %d: %s, want %s", id, i, got, w)
			}
		}
	}
	if got := ec2Code(t, errOf(f.RebootInstances(ids("i-0off")))); got != "Ec2.Ec2Exception IncorrectInstanceState" {
		t.Errorf("rebooting a stopped instance: %s", got)
	}
}

// errOf keeps the error of a (result, error) call.
func errOf(_ any, err error) error { return err }

func TestUnknownAndMalformedIDsLikeEC2(t *testing.T) {
	f := mustFleet(t, sampleFleet)
	for _, c := range []struct {
		call func(any) (any, error)
		in   any
		want string
	}{
		{f.RebootInstances, ids("i-0web1", "i-missing"), "Ec2.Ec2Exception InvalidInstanceID.NotFound"},
		{f.StopInstances, ids("i-a", "i-b"), "Ec2.Ec2Exception InvalidInstanceID.NotFound"},
		{f.DescribeInstances, ids("web1"), "Ec2.Ec2Exception InvalidInstanceID.Malformed"},
		{f.DescribeInstanceStatus, ids("i-nope"), "Ec2.Ec2Exception InvalidInstanceID.NotFound"},
		{f.StartInstances, map[string]any{}, "Ec2.Ec2Exception MissingParameter"},
	} {
		_, err := c.call(c.in)
		if got := ec2Code(t, err); got != c.want {
			t.Errorf("%v: %s, want %s", c.in, got, c.want)
		}
	}
	// Nothing changed on the known instance of a refused batch.
	if got := statusOf(t, f, "i-0web1"); got != "impaired/ok" {
		t.Fatalf("i-0web1 %s", got)
	}
}

func TestStopStartMovesToHealthyHardware(t *testing.T) {
	f := mustFleet(t, sampleFleet)
	out, err := f.StopInstances(ids("i-0db1"))
	if err != nil {
		t.Fatal(err)
	}
	change := out.(map[string]any)["StoppingInstances"].([]any)[0].(map[string]any)
	if change["CurrentState"].(map[string]any)["Name"] != "stopping" || change["PreviousState"].(map[string]any)["Code"] != 16.0 {
		t.Fatalf("%v", change)
	}
	if got := ec2Code(t, errOf(f.RebootInstances(ids("i-0db1")))); got != "Ec2.Ec2Exception IncorrectInstanceState" {
		t.Fatal(got)
	}
	var seen []string
	state := func() string {
		out, err := f.DescribeInstances(ids("i-0db1"))
		if err != nil {
			t.Fatal(err)
		}
		inst := out.(map[string]any)["Reservations"].([]any)[0].(map[string]any)["Instances"].([]any)[0].(map[string]any)
		return inst["State"].(map[string]any)["Name"].(string)
	}
	seen = append(seen, state(), state())
	if _, err := f.StartInstances(ids("i-0db1")); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, state(), state(), statusOf(t, f, "i-0db1"))
	if got := strings.Join(seen, ","); got != "stopping,stopped,pending,running,ok/ok" {
		t.Fatalf("observed %s", got)
	}
	// Without IncludeAllInstances a stopped instance has no status entry.
	f.StopInstances(ids("i-0off"))
	out, _ = f.DescribeInstanceStatus(map[string]any{"InstanceIds": []any{"i-0off"}})
	if n := len(out.(map[string]any)["InstanceStatuses"].([]any)); n != 0 {
		t.Fatalf("%d statuses for a stopped instance", n)
	}
}

func TestSetDesiredCapacityLikeAutoScaling(t *testing.T) {
	now := time.Unix(1000, 0)
	f := mustFleet(t, sampleFleet)
	f.Now = func() time.Time { return now }
	set := func(n any, honor bool) error {
		_, err := f.SetDesiredCapacity(map[string]any{"AutoScalingGroupName": "web", "DesiredCapacity": n, "HonorCooldown": honor})
		return err
	}
	if err := set(3.0, true); err != nil {
		t.Fatal(err)
	}
	if _, _, d, _ := f.Group("web"); d != 3 {
		t.Fatalf("desired %d", d)
	}
	if got := ec2Code(t, set(2.0, true)); got != "AutoScaling.ScalingActivityInProgressException ScalingActivityInProgress" {
		t.Fatalf("in cooldown: %s", got)
	}
	now = now.Add(301 * time.Second)
	if err := set(2.0, true); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	for _, c := range []struct {
		n    any
		want string
	}{{4.0, "above max value 3"}, {0.0, "below min value 1"}} {
		err := set(c.n, false)
		if ec2Code(t, err) != "AutoScaling.AutoScalingException ValidationError" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.n, err)
		}
	}
	_, err := f.SetDesiredCapacity(map[string]any{"AutoScalingGroupName": "nope", "DesiredCapacity": 1.0})
	if !strings.Contains(err.Error(), "AutoScalingGroup name not found - nope") {
		t.Fatalf("got %v", err)
	}
}

func TestDescribeGroupsShowsLaunchedAndTerminatedInstances(t *testing.T) {
	f := mustFleet(t, sampleFleet)
	describe := func(names ...any) []any {
		out, err := f.DescribeAutoScalingGroups(map[string]any{"AutoScalingGroupNames": names})
		if err != nil {
			t.Fatal(err)
		}
		return out.(map[string]any)["AutoScalingGroups"].([]any)
	}
	if n := len(describe("nope")); n != 0 {
		t.Fatalf("unknown group: %d groups", n)
	}
	f.SetDesiredCapacity(map[string]any{"AutoScalingGroupName": "web", "DesiredCapacity": 3.0})
	g := describe("web")[0].(map[string]any)
	if g["DesiredCapacity"] != 3.0 || g["MaxSize"] != 3.0 || len(g["Instances"].([]any)) != 1 {
		t.Fatalf("%v", g)
	}
	member := g["Instances"].([]any)[0].(map[string]any)
	if member["LifecycleState"] != "Pending" {
		t.Fatalf("%v", member)
	}
	f.SetDesiredCapacity(map[string]any{"AutoScalingGroupName": "web", "DesiredCapacity": 2.0})
	if n := len(describe("web")[0].(map[string]any)["Instances"].([]any)); n != 0 {
		t.Fatalf("%d members after scaling in", n)
	}
}

func FuzzParseFleet(f *testing.F) {
	f.Add([]byte(sampleFleet))
	f.Add([]byte(`{"instances":[{"id":"i-1","state":"stopped"}],"auto_scaling_groups":[{"name":"a","max":2,"desired":1}]}`))
	f.Add([]byte("instances: [{id: i-1, tags: {a: b}}]"))
	f.Add([]byte("auto_scaling_groups: [{name: x, min: -1}]"))
	f.Add([]byte("- [}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fl, err := ParseFleet(raw)
		if err != nil {
			return
		}
		// Whatever parsed can be described without panicking.
		if _, err := fl.DescribeInstances(map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if _, err := fl.DescribeAutoScalingGroups(map[string]any{}); err != nil {
			t.Fatal(err)
		}
	})
}
