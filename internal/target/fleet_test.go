package target

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLocalResolvesTheFleet(t *testing.T) {
	fleet := []FleetInstance{
		{ID: "i-0aaaaaaaaaaaaaaa1", State: "running", PrivateIP: "10.0.1.5", PrivateDNS: "ip-10-0-1-5.ec2.internal",
			Tags: map[string]string{"Name": "app-1", DependsOnTag: "db-main"}},
		{ID: "i-0dddddddddddddddd", State: "running", PrivateIP: "10.0.2.9", Tags: map[string]string{"Name": "db-main"}},
		{ID: "i-0eeeeeeeeeeeeeee1", State: "terminated", PrivateIP: "10.0.3.3"},
		{ID: "i-0fffffffffffffff1", State: "running", PrivateIP: "10.0.9.9"},
		{ID: "i-0fffffffffffffff2", State: "running", PublicIP: "10.0.9.9"},
		{ID: "i-0web1", State: "running"},
	}
	r := &Local{Instances: func() []FleetInstance { return fleet }}
	for label, want := range map[string]string{
		"10.0.1.5:9100": "i-0aaaaaaaaaaaaaaa1", "ip-10-0-1-5.ec2.internal:9100": "i-0aaaaaaaaaaaaaaa1",
		"ip-10-0-1-5": "i-0aaaaaaaaaaaaaaa1", "db-main": "i-0dddddddddddddddd",
		"i-0web1": "i-0web1", "I-0WEB1": "i-0web1",
		"localhost:9100": LocalTarget, "127.0.0.1:9100": LocalTarget, "[::1]:9100": LocalTarget,
	} {
		got, err := resolve(t, r, label)
		if err != nil || got.InstanceID != want {
			t.Errorf("%s: %+v, %v; want %s", label, got, err, want)
		}
	}
	if got, _ := resolve(t, r, "10.0.1.5"); got.Source != "fleet" || got.DependsOn[0] != "db-main" {
		t.Errorf("fleet target: %+v", got)
	}
	if _, err := resolve(t, r, "10.0.3.3:9100"); !errors.Is(err, ErrNotFound) {
		t.Errorf("terminated instance: %v", err)
	}
	if _, err := resolve(t, r, "10.0.9.9:9100"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("one IP on two instances: %v", err)
	}
	if _, err := resolve(t, &Local{}, "10.0.1.5"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no fleet: %v", err)
	}
}

type countingResolver struct {
	calls int
	err   error
}

func (c *countingResolver) Resolve(_ context.Context, a Address) (Target, error) {
	c.calls++
	return Target{InstanceID: "i-for-" + a.Host}, c.err
}

func TestCacheExpiresAndIsBounded(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	next := &countingResolver{}
	c := &Cache{Next: next, TTL: time.Minute, Max: 3, Now: func() time.Time { return now }}
	for i := 0; i < 5; i++ {
		resolve(t, c, "10.0.1.5")
	}
	if next.calls != 1 {
		t.Fatalf("5 lookups of one address cost %d calls; want 1", next.calls)
	}
	now = now.Add(61 * time.Second)
	resolve(t, c, "10.0.1.5")
	if next.calls != 2 {
		t.Fatalf("after the TTL: %d calls; want 2", next.calls)
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"} {
		resolve(t, c, ip)
	}
	if c.Len() != 3 {
		t.Fatalf("cache holds %d entries; want at most Max=3", c.Len())
	}
	resolve(t, c, "10.0.0.4") // newest: still cached
	resolve(t, c, "10.0.1.5") // oldest: evicted
	if next.calls != 7 {
		t.Fatalf("%d calls; want 7 (the newest cached, the oldest evicted)", next.calls)
	}
}

func TestCacheKeepsDefinitiveFailuresBriefly(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	next := &countingResolver{err: ErrAmbiguous}
	c := &Cache{Next: next, NegativeTTL: 10 * time.Second, Now: func() time.Time { return now }}
	for i := 0; i < 3; i++ {
		if _, err := resolve(t, c, "10.0.9.9"); !errors.Is(err, ErrAmbiguous) {
			t.Fatalf("%v", err)
		}
	}
	now = now.Add(11 * time.Second)
	resolve(t, c, "10.0.9.9")
	if next.calls != 2 {
		t.Fatalf("%d calls; want 2", next.calls)
	}
}

func TestPayloadOfAFailureKeepsInstanceID(t *testing.T) {
	p := Payload(Target{}, errors.New("no instance has this address: ipv4 10.0.7.7"))
	if p["resolved"] != false || p["instance_id"] != "" || !strings.Contains(p["error"].(string), "10.0.7.7") {
		t.Fatalf("%v", p)
	}
}
