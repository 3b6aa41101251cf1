package localtask

import (
	"strings"
	"testing"
)

func TestFleetAddressesFromTheFile(t *testing.T) {
	f, err := ParseFleet([]byte(`instances:
  - id: i-0app1
    private_ip: 10.0.1.5
    private_dns: IP-10-0-1-5.ec2.internal.
    public_ip: "::ffff:54.1.2.3"
    tags: {Name: app-1, "medic:depends-on": i-0db1}
  - id: i-0db1
`))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Addresses()
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	app := got[0]
	if app.ID != "i-0app1" || app.State != "running" || app.PrivateIP != "10.0.1.5" ||
		app.PrivateDNS != "ip-10-0-1-5.ec2.internal" || app.PublicIP != "54.1.2.3" || app.Tags["medic:depends-on"] != "i-0db1" {
		t.Errorf("addresses: %+v", app)
	}
	app.Tags["Name"] = "changed"
	if f.Addresses()[0].Tags["Name"] != "app-1" {
		t.Error("Addresses shares the fleet's tag map")
	}
}

func TestFleetRefusesBadAddresses(t *testing.T) {
	for field, line := range map[string]string{
		"instances[0].private_ip":  "private_ip: 10.0.1.500",
		"instances[0].public_ip":   "public_ip: 'fe80::1%eth0'",
		"instances[0].private_dns": "private_dns: 'a b'",
	} {
		_, err := ParseFleet([]byte("instances:\n  - id: i-0app1\n    " + line + "\n"))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v; want an error naming %s", line, err, field)
		}
	}
}
