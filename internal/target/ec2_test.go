package target

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// fakeInstance is one instance of the fake EC2 account.
type fakeInstance struct {
	ID, State, PrivateIP, PrivateDNS, PublicIP, IPv6 string
	Tags                                             map[string]string
}

// fakeEC2 speaks EC2's Query protocol (form-encoded POST, XML answer) for
// DescribeInstances, filtering its instances as EC2 does: every filter
// must match (AND), any value of a filter may (OR).
type fakeEC2 struct {
	instances []fakeInstance
	calls     atomic.Int64
	filters   []string // "name=value" of the first filter of each call
	fail      bool     // answer UnauthorizedOperation
}

func (f *fakeEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "DescribeInstances" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	if f.fail {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>`+
			`<Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>req-1</RequestID></Response>`)
		return
	}
	filters := map[string][]string{}
	for i := 1; r.Form.Get(fmt.Sprintf("Filter.%d.Name", i)) != ""; i++ {
		name := r.Form.Get(fmt.Sprintf("Filter.%d.Name", i))
		for j := 1; r.Form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)) != ""; j++ {
			filters[name] = append(filters[name], r.Form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)))
		}
		if i == 1 {
			f.filters = append(f.filters, name+"="+strings.Join(filters[name], ","))
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><reservationSet>`)
	for _, in := range f.instances {
		if !in.matches(filters) {
			continue
		}
		fmt.Fprintf(&b, `<item><reservationId>r-%s</reservationId><ownerId>111122223333</ownerId><instancesSet><item>`, in.ID)
		field := func(tag, v string) {
			if v != "" {
				b.WriteString("<" + tag + ">")
				_ = xml.EscapeText(&b, []byte(v))
				b.WriteString("</" + tag + ">")
			}
		}
		field("instanceId", in.ID)
		fmt.Fprintf(&b, `<instanceState><code>16</code><name>%s</name></instanceState>`, in.State)
		field("privateDnsName", in.PrivateDNS)
		field("privateIpAddress", in.PrivateIP)
		field("ipAddress", in.PublicIP)
		b.WriteString("<tagSet>")
		for k, v := range in.Tags {
			b.WriteString("<item>")
			field("key", k)
			field("value", v)
			b.WriteString("</item>")
		}
		b.WriteString("</tagSet></item></instancesSet></item>")
	}
	b.WriteString(`</reservationSet></DescribeInstancesResponse>`)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprint(w, b.String())
}

func (in fakeInstance) matches(filters map[string][]string) bool {
	value := map[string]string{"instance-id": in.ID, "instance-state-name": in.State,
		"private-ip-address": in.PrivateIP, "ip-address": in.PublicIP, "private-dns-name": in.PrivateDNS,
		"network-interface.ipv6-addresses.ipv6-address": in.IPv6, "tag:Name": in.Tags["Name"]}
	for name, vals := range filters {
		v, known := value[name]
		if !known {
			return false // a filter this fake does not know matches nothing
		}
		ok := false
		for _, want := range vals {
			ok = ok || v != "" && v == want
		}
		if !ok {
			return false
		}
	}
	return true
}

// newEC2 is the real SDK client pointed at the fake.
func newEC2(t *testing.T, f *fakeEC2) *EC2 {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := ec2.New(ec2.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   srv.Client(),
	})
	return &EC2{API: client}
}

var account = []fakeInstance{
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
	fake := &fakeEC2{instances: account}
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
	fake.filters = nil
	app, _ := resolve(t, r, "10.0.1.5:9100")
	if app.Name != "app-1" || strings.Join(app.DependsOn, "|") != "i-0dddddddddddddddd|db-main" {
		t.Errorf("tags: got name %q depends_on %q", app.Name, app.DependsOn)
	}
	// The private address is tried before the public one.
	if len(fake.filters) != 1 || fake.filters[0] != "private-ip-address=10.0.1.5" {
		t.Errorf("first filter: %v", fake.filters)
	}
}

func TestEC2RefusesUnknownAmbiguousAndLocal(t *testing.T) {
	r := newEC2(t, &fakeEC2{instances: account})
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
	fake := &fakeEC2{instances: account, fail: true}
	c := &Cache{Next: newEC2(t, fake)}
	for i := 0; i < 2; i++ {
		_, err := resolve(t, c, "10.0.1.5:9100")
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "UnauthorizedOperation") {
			t.Fatalf("call %d: %v; want the API error", i, err)
		}
	}
	if n := fake.calls.Load(); n < 2 {
		t.Fatalf("the failure was cached: %d calls", n)
	}
	fake.fail = false
	if got, err := resolve(t, c, "10.0.1.5:9100"); err != nil || got.InstanceID != "i-0aaaaaaaaaaaaaaa1" {
		t.Fatalf("after recovery: %+v, %v", got, err)
	}
}
