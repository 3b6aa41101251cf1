package localtask

// SetInstanceHealth marks a group member Unhealthy (or Healthy). An
// Unhealthy member is replaced, as Auto Scaling does: it terminates and a
// new instance launches in its place, the desired capacity unchanged.
func (f *Fleet) SetInstanceHealth(input any) (any, error) {
	var in struct{ InstanceId, HealthStatus string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if in.HealthStatus != "Healthy" && in.HealthStatus != "Unhealthy" {
		return nil, autoScalingError("AutoScalingException", "ValidationError", "HealthStatus %q must be Healthy or Unhealthy", in.HealthStatus)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inst := f.instances[in.InstanceId]
	if inst == nil || inst.tags[GroupTag] == "" || f.groups[inst.tags[GroupTag]] == nil {
		return nil, autoScalingError("AutoScalingException", "ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", in.InstanceId)
	}
	if in.HealthStatus == "Unhealthy" && inst.state != "terminated" && inst.state != "shutting-down" {
		g := f.groups[inst.tags[GroupTag]]
		f.resize(g, 1) // the replacement
		inst.state, inst.instanceStatus, inst.systemStatus = "shutting-down", "not-applicable", "not-applicable"
		inst.next = []snapshot{{"terminated", "not-applicable", "not-applicable"}}
	}
	return map[string]any{}, nil
}

// DescribeAutoScalingInstances reports which of the instances belong to a
// group; instances outside any group are left out, as in Auto Scaling.
func (f *Fleet) DescribeAutoScalingInstances(input any) (any, error) {
	var in struct{ InstanceIds []string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	for _, id := range in.InstanceIds {
		inst := f.instances[id]
		if inst == nil || inst.tags[GroupTag] == "" || inst.state == "terminated" {
			continue
		}
		out = append(out, map[string]any{"InstanceId": id, "AutoScalingGroupName": inst.tags[GroupTag],
			"LifecycleState": lifecycle(inst.state), "HealthStatus": health(inst), "AvailabilityZone": inst.zone})
	}
	return map[string]any{"AutoScalingInstances": out}, nil
}

// groupTargets are a target group's targets when it is attached to an Auto
// Scaling group of the fleet: the group's live members, newest last.
// serviceDown members fail the health check.
func (f *Fleet) groupTargets(group string, port int, serviceDown map[string]bool) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	for _, inst := range f.members(group) {
		inst.observe()
		health := map[string]any{"State": "healthy"}
		switch {
		case inst.state == "terminated":
			continue
		case inst.state == "shutting-down":
			health = map[string]any{"State": "draining", "Reason": "Target.DeregistrationInProgress"}
		case inst.state != "running":
			health = map[string]any{"State": "initial", "Reason": "Elb.RegistrationInProgress"}
		case serviceDown[inst.id] || inst.instanceStatus == "impaired":
			health = map[string]any{"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch", "Description": "Health checks failed with these codes: [502]"}
		}
		out = append(out, map[string]any{"Target": map[string]any{"Id": inst.id, "Port": float64(port)}, "TargetHealth": health})
	}
	return out
}
