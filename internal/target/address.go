// Package target resolves what an alert names (a Prometheus `instance`
// label such as "10.0.1.5:9100" or "ip-10-0-1-5.ec2.internal:9100", a
// hostname, an instance id) to the target a remediation runs on: an EC2
// instance id in AWS (DescribeInstances), an instance of the simulated
// fleet locally, or the local machine for localhost. Every label value is
// attacker-written: it is parsed strictly here, and a value that names no
// instance, or more than one, is an error, never a guess.
package target

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Kind is what an address names.
type Kind string

const (
	// KindInstanceID: "i-0123456789abcdef0".
	KindInstanceID Kind = "instance-id"
	// KindIPv4 and KindIPv6: an IP address (the port is dropped).
	KindIPv4 Kind = "ipv4"
	KindIPv6 Kind = "ipv6"
	// KindDNS: a dotted DNS name, "ip-10-0-1-5.ec2.internal".
	KindDNS Kind = "dns"
	// KindHostname: one DNS label, "web-1" or EC2's "ip-10-0-1-5".
	KindHostname Kind = "hostname"
	// KindLocal: localhost or a loopback address: the machine Medic runs
	// on (where `medic serve` runs commands).
	KindLocal Kind = "local"
)

// MaxAddressLen bounds the label value read; a DNS name is at most 253
// bytes, and ":65535" and brackets fit in the rest.
const MaxAddressLen = 261

// Address is a parsed instance label.
type Address struct {
	// Host is the normalised host: a lower-case name, an IP in canonical
	// form, or an instance id. The port is dropped.
	Host string
	Kind Kind
}

// String is the address as looked up.
func (a Address) String() string { return string(a.Kind) + " " + a.Host }

var (
	instanceID = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// ec2Hostname is EC2's IP-based host name: ip-10-0-1-5.
	ec2Hostname = regexp.MustCompile(`^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$`)
)

// ErrInvalid is the error of a label that is not one host's address.
var ErrInvalid = errors.New("not an instance address")

// ParseAddress reads an instance label: host, host:port, [v6]:port, a
// bare IPv6 address, or an instance id. It refuses what cannot be one host
// by name: empty, too long, spaces or control characters, a leading '-'
// (an option to whatever reads it next), empty name labels ("a..b"), a
// port that is not 1-65535, colons that are neither host:port nor IPv6,
// IPv6 zones.
func ParseAddress(label string) (Address, error) {
	a, err := parseAddress(label)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return a, nil
}

func parseAddress(label string) (Address, error) {
	switch {
	case label == "":
		return Address{}, fmt.Errorf("instance label is empty")
	case len(label) > MaxAddressLen:
		return Address{}, fmt.Errorf("instance label is %d bytes, longer than %d", len(label), MaxAddressLen)
	}
	for _, r := range label {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			return Address{}, fmt.Errorf("instance label %.80q has a space, control or non-ASCII character", label)
		}
	}
	host, err := splitPort(label)
	if err != nil {
		return Address{}, fmt.Errorf("instance label %.80q: %w", label, err)
	}
	a, err := classify(host)
	if err != nil {
		return Address{}, fmt.Errorf("instance label %.80q: %w", label, err)
	}
	return a, nil
}

// splitPort drops a valid port.
func splitPort(label string) (string, error) {
	if strings.HasPrefix(label, "[") {
		end := strings.Index(label, "]")
		if end < 0 {
			return "", fmt.Errorf("'[' without ']'")
		}
		host, rest := label[1:end], label[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", fmt.Errorf("unexpected %.20q after ']'", rest)
			}
			if err := checkPort(rest[1:]); err != nil {
				return "", err
			}
		}
		if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
			return "", fmt.Errorf("%.60q in brackets is not an IPv6 address", host)
		}
		return host, nil
	}
	switch strings.Count(label, ":") {
	case 0:
		return label, nil
	case 1:
		i := strings.IndexByte(label, ':')
		return label[:i], checkPort(label[i+1:])
	}
	// Several colons without brackets: only a bare IPv6 address (which
	// then has no port) is one host.
	if ip, err := netip.ParseAddr(label); err == nil && ip.Is6() {
		return label, nil
	}
	return "", fmt.Errorf("several ':' but not an IPv6 address (write [v6]:port)")
}

func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' || p[0] == '0' {
		return fmt.Errorf("port %.20q is not 1-65535", p)
	}
	return nil
}

func classify(host string) (Address, error) {
	if host == "" {
		return Address{}, fmt.Errorf("no host before the port")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return classifyIP(ip)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if instanceID.MatchString(name) {
		return Address{Host: name, Kind: KindInstanceID}, nil
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return Address{Host: "localhost", Kind: KindLocal}, nil
	}
	if len(name) > 253 {
		return Address{}, fmt.Errorf("host name is longer than 253 bytes")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return Address{}, fmt.Errorf("%.70q is not a host name (labels of a-z, 0-9 and inner '-', separated by single dots)", host)
		}
	}
	if len(labels) == 1 {
		return Address{Host: name, Kind: KindHostname}, nil
	}
	return Address{Host: name, Kind: KindDNS}, nil
}

func classifyIP(ip netip.Addr) (Address, error) {
	if ip.Zone() != "" {
		return Address{}, fmt.Errorf("an IPv6 zone (%%%s) names an interface, not a host", ip.Zone())
	}
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return Address{Host: "localhost", Kind: KindLocal}, nil
	case ip.IsUnspecified() || ip.IsMulticast():
		return Address{}, fmt.Errorf("%s is not one host's address", ip)
	case ip.Is4():
		return Address{Host: ip.String(), Kind: KindIPv4}, nil
	}
	return Address{Host: ip.String(), Kind: KindIPv6}, nil
}

// ec2HostnameIP turns EC2's IP-based host name ("ip-10-0-1-5") into its
// private IPv4 address.
func ec2HostnameIP(host string) (string, bool) {
	m := ec2Hostname.FindStringSubmatch(host)
	if m == nil {
		return "", false
	}
	ip, err := netip.ParseAddr(strings.Join(m[1:], "."))
	if err != nil {
		return "", false
	}
	return ip.String(), true
}
