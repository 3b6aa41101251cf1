package app

import (
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
