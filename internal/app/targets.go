package app

import (
	"context"
	"fmt"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/target"
)

// FleetTargets resolves alerts' instances against the simulated fleet
// (<state>/fleet.yaml), and localhost to this machine, where `medic serve`
// runs its commands.
func FleetTargets(fleet *localtask.Fleet) target.Resolver {
	return &target.Local{Instances: func() []target.FleetInstance {
		list := fleet.Addresses()
		out := make([]target.FleetInstance, len(list))
		for i, in := range list {
			out[i] = target.FleetInstance{ID: in.ID, State: in.State, PrivateIP: in.PrivateIP,
				PrivateDNS: in.PrivateDNS, PublicIP: in.PublicIP, Tags: in.Tags}
		}
		return out
	}}
}

// annotate tells an execution's console thread about a step after the
// fact (a new symptom of the alert it remediates). The step is shown, not
// stored: the running execution owns its record.
func (c *console) annotate(execs execution.Store) func(context.Context, string, execution.Step) {
	return func(_ context.Context, id string, s execution.Step) {
		rec, err := execs.Get(id)
		if err != nil || c.out == nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		fmt.Fprintf(c.out, "── execution %s:\n", rec.ID)
		execution.RenderStep(c.out, rec.Started, s)
	}
}
