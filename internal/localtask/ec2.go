package localtask

import (
	"fmt"
	"sort"
	"strings"

	"github.com/medic-sre/medic/internal/asl"
)

// EC2 state codes as DescribeInstances reports them.
var stateCodes = map[string]float64{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

// ec2Error is an EC2 API error as a Step Functions aws-sdk integration
// raises it: EC2's error codes are not modelled as exceptions in the SDK,
// so the error is Ec2.Ec2Exception and the code is in the cause.
func ec2Error(code, format string, args ...any) error {
	return &asl.Error{Name: "Ec2.Ec2Exception", Cause: fmt.Sprintf(format, args...) + " (Service: Ec2, Status Code: 400, Error Code: " + code + ")"}
}

type instanceIDs struct {
	InstanceIds         []string
	IncludeAllInstances bool
}

// lookup returns the named instances (every instance when none is named),
// refusing malformed and unknown ids as EC2 does: all or nothing.
func (f *Fleet) lookup(ids []string) ([]*instance, error) {
	if len(ids) == 0 {
		ids = f.order
	}
	var found []*instance
	var missing []string
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			return nil, ec2Error("InvalidInstanceID.Malformed", "Invalid id: %q", id)
		}
		if in := f.instances[id]; in != nil {
			found = append(found, in)
		} else {
			missing = append(missing, id)
		}
	}
	switch len(missing) {
	case 0:
		return found, nil
	case 1:
		return nil, ec2Error("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	}
	return nil, ec2Error("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
}

// change applies an action to every instance after checking each may take
// it; allowed maps a current state to whether the action applies.
func (f *Fleet) change(input any, verb string, allowed func(*instance) bool, apply func(*instance)) ([]*instance, []string, error) {
	var in instanceIDs
	if err := decode(input, &in); err != nil {
		return nil, nil, err
	}
	if len(in.InstanceIds) == 0 {
		return nil, nil, ec2Error("MissingParameter", "The request must contain the parameter InstanceIds")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	insts, err := f.lookup(in.InstanceIds)
	if err != nil {
		return nil, nil, err
	}
	for _, inst := range insts {
		if !allowed(inst) {
			return nil, nil, ec2Error("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be %s.", inst.id, verb)
		}
	}
	previous := make([]string, len(insts))
	for i, inst := range insts {
		previous[i] = inst.state
		apply(inst)
	}
	return insts, previous, nil
}

// RebootInstances reboots running instances: the instance status check
// initialises, then passes if a reboot fixes what was wrong (reboot_fixes)
// and the hardware is healthy; a reboot never fixes the system check.
func (f *Fleet) RebootInstances(input any) (any, error) {
	_, _, err := f.change(input, "rebooted", func(in *instance) bool { return in.state == "running" }, func(in *instance) {
		after := "impaired"
		if in.rebootFixes && in.systemStatus == "ok" {
			after = "ok"
		}
		in.instanceStatus = "initializing"
		in.next = []snapshot{{"running", "initializing", in.systemStatus}, {"running", after, in.systemStatus}}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// StopInstances stops instances (stopping, then stopped on the second
// observation); stopping a stopped instance changes nothing, as in EC2.
func (f *Fleet) StopInstances(input any) (any, error) {
	insts, prev, err := f.change(input, "stopped", func(in *instance) bool { return in.state != "terminated" && in.state != "shutting-down" }, func(in *instance) {
		if in.state == "stopped" || in.state == "stopping" {
			return
		}
		in.state, in.instanceStatus, in.systemStatus = "stopping", "not-applicable", "not-applicable"
		in.next = []snapshot{{"stopping", "not-applicable", "not-applicable"}, {"stopped", "not-applicable", "not-applicable"}}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"StoppingInstances": stateChanges(insts, prev)}, nil
}

// StartInstances starts stopped instances on (simulated) healthy hardware:
// pending, then running with checks initialising, then both checks ok.
func (f *Fleet) StartInstances(input any) (any, error) {
	insts, prev, err := f.change(input, "started", func(in *instance) bool {
		return in.state == "stopped" || in.state == "running" || in.state == "pending"
	}, func(in *instance) {
		if in.state != "stopped" {
			return
		}
		in.state, in.instanceStatus, in.systemStatus = "pending", "not-applicable", "not-applicable"
		in.next = []snapshot{{"pending", "not-applicable", "not-applicable"}, {"running", "initializing", "initializing"}, {"running", "ok", "ok"}}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"StartingInstances": stateChanges(insts, prev)}, nil
}

func stateChanges(insts []*instance, previous []string) []any {
	out := make([]any, len(insts))
	for i, in := range insts {
		out[i] = map[string]any{"InstanceId": in.id, "CurrentState": stateView(in.state), "PreviousState": stateView(previous[i])}
	}
	return out
}

func stateView(name string) map[string]any {
	return map[string]any{"Code": stateCodes[name], "Name": name}
}

// describe observes the named instances (each call sees them one step
// further along) and returns them.
func (f *Fleet) describe(input any) ([]*instance, bool, error) {
	var in instanceIDs
	if err := decode(input, &in); err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	insts, err := f.lookup(in.InstanceIds)
	if err != nil {
		return nil, false, err
	}
	for _, inst := range insts {
		inst.observe()
	}
	return insts, in.IncludeAllInstances, nil
}

// DescribeInstanceStatus reports status checks; instances that are not
// running are left out unless IncludeAllInstances is set, as in EC2.
func (f *Fleet) DescribeInstanceStatus(input any) (any, error) {
	insts, all, err := f.describe(input)
	if err != nil {
		return nil, err
	}
	statuses := []any{}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, in := range insts {
		if in.state != "running" && !all {
			continue
		}
		statuses = append(statuses, map[string]any{
			"InstanceId":       in.id,
			"AvailabilityZone": in.zone,
			"InstanceState":    stateView(in.state),
			"InstanceStatus":   checkView(in.instanceStatus, "reachability"),
			"SystemStatus":     checkView(in.systemStatus, "reachability"),
		})
	}
	return map[string]any{"InstanceStatuses": statuses}, nil
}

func checkView(status, check string) map[string]any {
	detail := map[string]string{"ok": "passed", "impaired": "failed", "initializing": "initializing"}[status]
	view := map[string]any{"Status": status}
	if detail != "" {
		view["Details"] = []any{map[string]any{"Name": check, "Status": detail}}
	}
	return view
}

// DescribeInstances reports instances, one reservation each.
func (f *Fleet) DescribeInstances(input any) (any, error) {
	insts, _, err := f.describe(input)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reservations := make([]any, len(insts))
	for i, in := range insts {
		reservations[i] = map[string]any{
			"ReservationId": "r-" + strings.TrimPrefix(in.id, "i-"),
			"OwnerId":       "000000000000",
			"Instances": []any{map[string]any{
				"InstanceId":   in.id,
				"InstanceType": in.itype,
				"Placement":    map[string]any{"AvailabilityZone": in.zone},
				"State":        stateView(in.state),
				"Tags":         tagList(in.tags),
			}},
		}
	}
	return map[string]any{"Reservations": reservations}, nil
}

func tagList(tags map[string]string) []any {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = map[string]any{"Key": k, "Value": tags[k]}
	}
	return out
}
