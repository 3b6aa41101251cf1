package target

import (
	"strings"
	"testing"
)

func TestParseAddressForms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Address
	}{
		{"10.0.1.5:9100", Address{"10.0.1.5", KindIPv4}},
		{"10.0.1.5", Address{"10.0.1.5", KindIPv4}},
		{"ip-10-0-1-5.ec2.internal:9100", Address{"ip-10-0-1-5.ec2.internal", KindDNS}},
		{"IP-10-0-1-5.EU-WEST-1.compute.internal.", Address{"ip-10-0-1-5.eu-west-1.compute.internal", KindDNS}},
		{"web-1:9100", Address{"web-1", KindHostname}},
		{"ip-10-0-1-5", Address{"ip-10-0-1-5", KindHostname}},
		{"i-0123456789abcdef0", Address{"i-0123456789abcdef0", KindInstanceID}},
		{"i-01234567:9100", Address{"i-01234567", KindInstanceID}},
		{"[2600:1f18::5]:9100", Address{"2600:1f18::5", KindIPv6}},
		{"2600:1f18:0:0::5", Address{"2600:1f18::5", KindIPv6}},
		{"[::ffff:10.0.1.5]:9100", Address{"10.0.1.5", KindIPv4}},
		{"localhost:9100", Address{"localhost", KindLocal}},
		{"127.0.0.1:9100", Address{"localhost", KindLocal}},
		{"127.3.4.5", Address{"localhost", KindLocal}},
		{"[::1]:9100", Address{"localhost", KindLocal}},
	} {
		got, err := ParseAddress(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// Every label value is attacker-written: these must be refused with a
// reason, never read as some host.
func TestParseAddressRefusesHostileValues(t *testing.T) {
	for _, c := range []struct{ in, why string }{
		{"", "empty"},
		{"--help", "not a host name"},
		{"-oProxyCommand=sh:22", "not a host name"},
		{"web..internal:9100", "not a host name"},
		{"../../etc/passwd", "not a host name"},
		{".", "not a host name"},
		{"a.b.c.d.e.f.g" + strings.Repeat(".abcdefghij", 30), "longer than"},
		{strings.Repeat("a", 64) + ".internal", "not a host name"},
		{"10.0.1.5:0", "not 1-65535"},
		{"10.0.1.5:65536", "not 1-65535"},
		{"10.0.1.5:99999999999999999999", "not 1-65535"},
		{"10.0.1.5:-1", "not 1-65535"},
		{"10.0.1.5:+80", "not 1-65535"},
		{"10.0.1.5:", "not 1-65535"},
		{"10.0.1.5:9100:9100", "several ':'"},
		{"a:b:c:d:e:f:g:h:i", "several ':'"},
		{"[10.0.1.5]:9100", "not an IPv6 address"},
		{"[::1", "without ']'"},
		{"[2600::5]x", "after ']'"},
		{"fe80::1%eth0", "zone"},
		{":9100", "no host"},
		{"web 1", "space"},
		{"web\n1", "control"},
		{"wéb", "non-ASCII"},
		{"0.0.0.0:9100", "not one host"},
		{"[ff02::1]:9100", "not one host"},
		{"host_name", "not a host name"},
	} {
		_, err := ParseAddress(c.in)
		if err == nil || !strings.Contains(err.Error(), c.why) || !Definitive(err) {
			t.Errorf("ParseAddress(%.40q) = %v; want a definitive error saying %q", c.in, err, c.why)
		}
	}
}

func TestParseAddressBoundsTheEchoedValue(t *testing.T) {
	_, err := ParseAddress("x" + strings.Repeat(":", 250))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error %q: want a refusal that does not echo the whole value", err)
	}
}
