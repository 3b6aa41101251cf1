package localtask

import (
	"fmt"
	"net/netip"
	"strings"
)

// InstanceAddresses is what an alert may name a fleet instance by.
type InstanceAddresses struct {
	ID, State                       string
	PrivateIP, PrivateDNS, PublicIP string
	Tags                            map[string]string
}

// Addresses lists the instances with their addresses and tags, in file
// order: the local target resolver's view of the account.
func (f *Fleet) Addresses() []InstanceAddresses {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]InstanceAddresses, 0, len(f.order))
	for _, id := range f.order {
		in := f.instances[id]
		tags := make(map[string]string, len(in.tags))
		for k, v := range in.tags {
			tags[k] = v
		}
		out = append(out, InstanceAddresses{ID: in.id, State: in.state, PrivateIP: in.privateIP,
			PrivateDNS: in.privateDNS, PublicIP: in.publicIP, Tags: tags})
	}
	return out
}

// setAddresses checks and keeps the fleet file's addresses: IPs in
// canonical form and a lower-case DNS name, so lookups compare exactly.
func (in *instance) setAddresses(where, privateIP, privateDNS, publicIP string) error {
	var err error
	if in.privateIP, err = canonicalIP(where+".private_ip", privateIP); err != nil {
		return err
	}
	if in.publicIP, err = canonicalIP(where+".public_ip", publicIP); err != nil {
		return err
	}
	in.privateDNS = strings.TrimSuffix(strings.ToLower(privateDNS), ".")
	if strings.ContainsAny(in.privateDNS, " :/\t") {
		return fmt.Errorf("%s.private_dns: %q is not a DNS name", where, privateDNS)
	}
	return nil
}

func canonicalIP(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return "", fmt.Errorf("%s: %q is not an IP address", field, s)
	}
	return ip.Unmap().String(), nil
}
