package target

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/target/ec2fake"
)

// newEC2 is the resolver over the real SDK client talking to the fake.
func newEC2(t *testing.T, f *ec2fake.Server) *EC2 {
	return &EC2{API: f.Client(t)}
}

var account = []ec2fake.Instance{
	{ID: "i-0aaaaaaaaaaaaaaa1", State: "running", PrivateIP: "10.0.1.5", PrivateDNS: "ip-10-0-1-5.eu-west-1.compute.internal",
		PublicIP: "54.1.2.3", Tags: map[string]string{"Name": "app-1", DependsOnTag: "i-0dddddddddddddddd, db-main,"}},
	{ID: "i-0dddddddddddddddd", State: "running", PrivateIP: "10.0.2.9", PrivateDNS: "ip-10-0-2-9.eu-west-1.compute.internal",
		IPv6: "2600:1f18::9", Tags: map[string]string{"Name": "db-main"}},
	// The old holder of 10.0.3.3 was terminated: only the live one counts.
	{ID: "i-0eeeeeeeeeeeeeee1", State: "terminated", PrivateIP: "10.0.3.3"},
	{ID: "i-0eeeeeeeeeeeeeee2", State: "running", PrivateIP: "10.0.3.3"},
	// Two VPCs may reuse one private range: the same IP on two instances.
	{ID: "i-0fffffffffffffff1", State: "running", PrivateIP: "10.0.9.9"},
	{ID: "i-0fffffffffffffff2", State: "stopped", PrivateIP: "10.0.9.9"},
}

func resolve(t *testing.T, r Resolver, label string) (Target, error) {
	t.Helper()
	a, err := ParseAddress(label)
	if err != nil {
		t.Fatalf("ParseAddress(%q): %v", label, err)
	}
	return r.Resolve(context.Background(), a)
}

func TestEC2ResolvesOverTheWire(t *testing.T) {
	fake := &ec2fake.Server{Instances: account}
	r := newEC2(t, fake)
	for label, want := range map[string]string{
		"10.0.1.5:9100": "i-0aaaaaaaaaaaaaaa1",
		"ip-10-0-1-5.eu-west-1.compute.internal:9100": "i-0aaaaaaaaaaaaaaa1",
		"ip-10-0-1-5:9100":                            "i-0aaaaaaaaaaaaaaa1",
		"54.1.2.3:9100":                               "i-0aaaaaaaaaaaaaaa1",
		"db-main:9187":                                "i-0dddddddddddddddd",
		"[2600:1f18::9]:9100":                         "i-0dddddddddddddddd",
		"i-0dddddddddddddddd":                         "i-0dddddddddddddddd",
		"10.0.3.3:9100":                               "i-0eeeeeeeeeeeeeee2",
	} {
		got, err := resolve(t, r, label)
		if err != nil || got.InstanceID != want || got.Source != "ec2" {
			t.Errorf("%s: got %+v, %v; want %s", label, got, err, want)
		}
	}
	fake.ResetFilters()
	app, _ := resolve(t, r, "10.0.1.5:9100")
	if app.Name != "app-1" || strings.Join(app.DependsOn, "|") != "i-0dddddddddddddddd|db-main" {
		t.Errorf("tags: got name %q depends_on %q", app.Name, app.DependsOn)
	}
	// The private address is tried before the public one.
	if f := fake.FirstFilters(); len(f) != 1 || f[0] != "private-ip-address=10.0.1.5" {
		t.Errorf("first filter: %v", f)
	}
}

func TestEC2RefusesUnknownAmbiguousAndLocal(t *testing.T) {
	r := newEC2(t, &ec2fake.Server{Instances: account})
	if _, err := resolve(t, r, "10.0.7.7:9100"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown IP: %v", err)
	}
	_, err := resolve(t, r, "10.0.9.9:9100")
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "i-0fffffffffffffff1, i-0fffffffffffffff2") {
		t.Errorf("ambiguous IP: %v", err)
	}
	if _, err := resolve(t, r, "localhost:9100"); !errors.Is(err, ErrNotFound) {
		t.Errorf("localhost in AWS: %v", err)
	}
}

func TestEC2APIErrorIsNotDefinitiveAndNotCached(t *testing.T) {
	fake := &ec2fake.Server{Instances: account}
	fake.Fail(true)
	c := &Cache{Next: newEC2(t, fake)}
	for i := 0; i < 2; i++ {
		_, err := resolve(t, c, "10.0.1.5:9100")
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "UnauthorizedOperation") {
			t.Fatalf("call %d: %v; want the API error", i, err)
		}
	}
	if n := fake.Calls.Load(); n < 2 {
		t.Fatalf("the failure was cached: %d calls", n)
	}
	fake.Fail(false)
	if got, err := resolve(t, c, "10.0.1.5:9100"); err != nil || got.InstanceID != "i-0aaaaaaaaaaaaaaa1" {
		t.Fatalf("after recovery: %+v, %v", got, err)
	}
}
