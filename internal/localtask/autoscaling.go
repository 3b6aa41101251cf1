package localtask

import (
	"fmt"
	"sort"

	"github.com/medic-sre/medic/internal/asl"
)

// GroupTag is the tag EC2 puts on an Auto Scaling group's instances.
const GroupTag = "aws:autoscaling:groupName"

// autoScalingError is an Auto Scaling error as a Step Functions aws-sdk
// integration raises it: modelled faults are AutoScaling.<Name>Exception,
// the generic ValidationError is AutoScaling.AutoScalingException.
func autoScalingError(name, code, format string, args ...any) error {
	return &asl.Error{Name: "AutoScaling." + name, Cause: fmt.Sprintf(format, args...) + " (Service: AutoScaling, Status Code: 400, Error Code: " + code + ")"}
}

// DescribeAutoScalingGroups reports the named groups (every group when none
// is named); unknown names are left out, not an error, as in Auto Scaling.
func (f *Fleet) DescribeAutoScalingGroups(input any) (any, error) {
	var in struct{ AutoScalingGroupNames []string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	names := in.AutoScalingGroupNames
	if len(names) == 0 {
		for name := range f.groups {
			names = append(names, name)
		}
		sort.Strings(names)
	}
	groups := []any{}
	for _, name := range names {
		if g := f.groups[name]; g != nil {
			groups = append(groups, f.groupView(g))
		}
	}
	return map[string]any{"AutoScalingGroups": groups}, nil
}

func (f *Fleet) groupView(g *group) map[string]any {
	members := []any{}
	for _, in := range f.members(g.name) {
		members = append(members, map[string]any{
			"InstanceId": in.id, "InstanceType": in.itype, "AvailabilityZone": in.zone,
			"LifecycleState": lifecycle(in.state), "HealthStatus": health(in), "ProtectedFromScaleIn": false,
		})
	}
	return map[string]any{
		"AutoScalingGroupName": g.name,
		"AutoScalingGroupARN":  "arn:aws:autoscaling:local:000000000000:autoScalingGroup:local:autoScalingGroupName/" + g.name,
		"MinSize":              float64(g.min),
		"MaxSize":              float64(g.max),
		"DesiredCapacity":      float64(g.desired),
		"DefaultCooldown":      g.cooldown.Seconds(),
		"AvailabilityZones":    []any{"local-1a"},
		"HealthCheckType":      "EC2",
		"Instances":            members,
	}
}

func lifecycle(state string) string {
	switch state {
	case "pending":
		return "Pending"
	case "running":
		return "InService"
	}
	return "Terminating"
}

func health(in *instance) string {
	if in.state == "running" && in.systemStatus != "impaired" && in.instanceStatus != "impaired" || in.state == "pending" {
		return "Healthy"
	}
	return "Unhealthy"
}

// members are the group's live instances, oldest first.
func (f *Fleet) members(name string) []*instance {
	var out []*instance
	for _, id := range f.order {
		in := f.instances[id]
		if in.tags[GroupTag] == name && in.state != "terminated" && in.state != "shutting-down" {
			out = append(out, in)
		}
	}
	return out
}

// SetDesiredCapacity changes a group's desired capacity within MinSize..
// MaxSize, refusing during a cooldown when HonorCooldown is set, and
// launches or terminates instances to match the change.
func (f *Fleet) SetDesiredCapacity(input any) (any, error) {
	var in struct {
		AutoScalingGroupName string
		DesiredCapacity      *int
		HonorCooldown        bool
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if in.DesiredCapacity == nil {
		return nil, autoScalingError("AutoScalingException", "ValidationError", "1 validation error detected: Value null at 'desiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.groups[in.AutoScalingGroupName]
	want := *in.DesiredCapacity
	switch {
	case g == nil:
		return nil, autoScalingError("AutoScalingException", "ValidationError", "AutoScalingGroup name not found - %s", in.AutoScalingGroupName)
	case want > g.max:
		return nil, autoScalingError("AutoScalingException", "ValidationError", "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", want, g.max)
	case want < g.min:
		return nil, autoScalingError("AutoScalingException", "ValidationError", "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", want, g.min)
	case in.HonorCooldown && (g.activityInProgress || !g.lastScaled.IsZero() && f.now().Before(g.lastScaled.Add(g.cooldown))):
		return nil, autoScalingError("ScalingActivityInProgressException", "ScalingActivityInProgress", "Scaling activity is in progress or the group %s is in its cooldown period", g.name)
	}
	f.resize(g, want-g.desired)
	g.desired, g.lastScaled = want, f.now()
	return map[string]any{}, nil
}

// resize launches (delta > 0) or terminates (delta < 0, newest first)
// instances of the group.
func (f *Fleet) resize(g *group, delta int) {
	for ; delta > 0; delta-- {
		f.launched++
		id := fmt.Sprintf("i-0local%09d", f.launched)
		f.instances[id] = &instance{id: id, itype: "t3.micro", zone: "local-1a", state: "pending",
			instanceStatus: "not-applicable", systemStatus: "not-applicable", rebootFixes: true,
			tags: map[string]string{GroupTag: g.name},
			next: []snapshot{{"running", "initializing", "initializing"}, {"running", "ok", "ok"}}}
		f.order = append(f.order, id)
	}
	members := f.members(g.name)
	for i := len(members) - 1; delta < 0 && i >= 0; i, delta = i-1, delta+1 {
		in := members[i]
		in.state, in.instanceStatus, in.systemStatus = "shutting-down", "not-applicable", "not-applicable"
		in.next = []snapshot{{"terminated", "not-applicable", "not-applicable"}}
	}
}
