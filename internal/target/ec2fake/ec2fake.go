// Package ec2fake is an in-process EC2 for tests: an httptest server
// speaking EC2's Query protocol (form-encoded POST, SigV4-signed, XML
// answers) for DescribeInstances, filtering its instances as EC2 does:
// every filter must match (AND), any value of one filter may (OR). The
// real aws-sdk-go-v2 ec2 client talks to it (Client), so tests exercise
// the SDK's serialisation and XML decoding, not a mock of them.
package ec2fake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Instance is one instance of the fake account.
type Instance struct {
	ID, State, PrivateIP, PrivateDNS, PublicIP, IPv6 string
	Tags                                             map[string]string
}

// Server is the fake EC2 endpoint.
type Server struct {
	Instances []Instance
	// Calls counts DescribeInstances requests.
	Calls atomic.Int64

	mu      sync.Mutex
	filters []string // "name=value" of the first filter of each call
	fail    bool
}

// Fail makes every call answer UnauthorizedOperation (403) until reset.
func (s *Server) Fail(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

// FirstFilters are the first filter of each call so far ("name=value").
func (s *Server) FirstFilters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.filters...)
}

// ResetFilters forgets the recorded filters.
func (s *Server) ResetFilters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filters = nil
}

// Client starts the server for the test's life and returns the real SDK
// client pointed at it.
func (s *Server) Client(t testing.TB) *ec2.Client {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return ec2.New(ec2.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   srv.Client(),
	})
}

// ServeHTTP answers DescribeInstances.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Calls.Add(1)
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "DescribeInstances" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>`+
			`<Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>req-1</RequestID></Response>`)
		return
	}
	filters := s.readFilters(r)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><reservationSet>`)
	for _, in := range s.Instances {
		if in.matches(filters) {
			in.writeReservation(&b)
		}
	}
	b.WriteString(`</reservationSet></DescribeInstancesResponse>`)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprint(w, b.String())
}

// readFilters decodes Filter.N.Name / Filter.N.Value.M.
func (s *Server) readFilters(r *http.Request) map[string][]string {
	filters := map[string][]string{}
	for i := 1; r.Form.Get(fmt.Sprintf("Filter.%d.Name", i)) != ""; i++ {
		name := r.Form.Get(fmt.Sprintf("Filter.%d.Name", i))
		for j := 1; r.Form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)) != ""; j++ {
			filters[name] = append(filters[name], r.Form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)))
		}
		if i == 1 {
			s.mu.Lock()
			s.filters = append(s.filters, name+"="+strings.Join(filters[name], ","))
			s.mu.Unlock()
		}
	}
	return filters
}

func (in Instance) matches(filters map[string][]string) bool {
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

func (in Instance) writeReservation(b *strings.Builder) {
	field := func(tag, v string) {
		if v != "" {
			b.WriteString("<" + tag + ">")
			_ = xml.EscapeText(b, []byte(v))
			b.WriteString("</" + tag + ">")
		}
	}
	fmt.Fprintf(b, `<item><reservationId>r-%s</reservationId><ownerId>111122223333</ownerId><instancesSet><item>`, in.ID)
	field("instanceId", in.ID)
	fmt.Fprintf(b, `<instanceState><code>16</code><name>%s</name></instanceState>`, in.State)
	field("privateDnsName", in.PrivateDNS)
	field("privateIpAddress", in.PrivateIP)
	field("ipAddress", in.PublicIP)
	b.WriteString("<tagSet>")
	keys := make([]string, 0, len(in.Tags))
	for k := range in.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("<item>")
		field("key", k)
		field("value", in.Tags[k])
		b.WriteString("</item>")
	}
	b.WriteString("</tagSet></item></instancesSet></item>")
}
