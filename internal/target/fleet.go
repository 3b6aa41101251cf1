package target

import (
	"context"
	"strings"
)

// FleetInstance is one instance of the simulated fleet (<state>/fleet.yaml)
// as the local resolver sees it.
type FleetInstance struct {
	ID, State                       string
	PrivateIP, PrivateDNS, PublicIP string
	Tags                            map[string]string
}

// Local resolves against the simulated fleet, as EC2 would against the
// account: `medic serve`'s resolver. localhost and loopback addresses are
// the machine Medic runs on (LocalTarget).
type Local struct {
	// Instances lists the fleet now; nil is an empty fleet.
	Instances func() []FleetInstance
}

// Resolve finds the one fleet instance the address names; terminated
// instances are not candidates, as in EC2.
func (l *Local) Resolve(_ context.Context, a Address) (Target, error) {
	if a.Kind == KindLocal {
		return Target{InstanceID: LocalTarget, Source: "local", Address: a.Host}, nil
	}
	var list []FleetInstance
	if l.Instances != nil {
		list = l.Instances()
	}
	match := fleetMatcher(a)
	var found []FleetInstance
	for _, in := range list {
		if in.State != "terminated" && match(in) {
			found = append(found, in)
		}
	}
	switch len(found) {
	case 0:
		return Target{}, notFound(a, "the local fleet (fleet.yaml)")
	case 1:
		in := found[0]
		return Target{InstanceID: in.ID, Source: "fleet", Address: a.Host, Name: in.Tags["Name"],
			DependsOn: parseDependsOn(in.Tags[DependsOnTag])}, nil
	}
	ids := make([]string, len(found))
	for i, in := range found {
		ids[i] = in.ID
	}
	return Target{}, ambiguous(a, ids)
}

// fleetMatcher is the fleet's counterpart of the EC2 filters (ec2.go).
func fleetMatcher(a Address) func(FleetInstance) bool {
	switch a.Kind {
	case KindInstanceID:
		return func(in FleetInstance) bool { return in.ID == a.Host }
	case KindIPv4, KindIPv6:
		return func(in FleetInstance) bool { return in.PrivateIP == a.Host || in.PublicIP == a.Host }
	case KindDNS:
		return func(in FleetInstance) bool { return strings.EqualFold(in.PrivateDNS, a.Host) }
	case KindHostname:
		if ip, ok := ec2HostnameIP(a.Host); ok {
			return func(in FleetInstance) bool { return in.PrivateIP == ip }
		}
		// Fleet ids are free-form (i-0web1), not EC2's hex: one that is
		// not an EC2 id parses as a host name, and is matched as an id too.
		return func(in FleetInstance) bool {
			return strings.EqualFold(in.ID, a.Host) || strings.EqualFold(in.Tags["Name"], a.Host) || firstLabel(in.PrivateDNS) == a.Host
		}
	}
	return func(FleetInstance) bool { return false }
}

func firstLabel(name string) string {
	name = strings.ToLower(name)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return name
}
