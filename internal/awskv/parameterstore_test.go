package awskv

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/kv"
)

// fakeSSM speaks the SSM JSON 1.1 protocol (X-Amz-Target AmazonSSM.*) for
// the four parameter calls, keeping parameters in memory.
type fakeSSM struct {
	mu       sync.Mutex
	params   map[string]map[string]any
	policies map[string]string
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var in map[string]any
	json.Unmarshal(raw, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	name, _ := in["Name"].(string)
	notFound := func() {
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"ParameterNotFound","message":"Parameter `+name+` not found."}`)
	}
	switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.") {
	case "GetParameter":
		p, ok := f.params[name]
		if !ok {
			notFound()
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": p})
	case "PutParameter":
		f.params[name] = map[string]any{"Name": name, "Value": in["Value"], "Type": in["Type"]}
		if pol, ok := in["Policies"].(string); ok {
			f.policies[name] = pol + "|" + in["Tier"].(string)
		}
		io.WriteString(w, `{"Version":1}`)
	case "DeleteParameter":
		if _, ok := f.params[name]; !ok {
			notFound()
			return
		}
		delete(f.params, name)
		io.WriteString(w, `{}`)
	case "GetParametersByPath":
		var list []any
		names := make([]string, 0, len(f.params))
		for n := range f.params {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.HasPrefix(n, in["Path"].(string)+"/") {
				list = append(list, f.params[n])
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameters": list})
	default:
		http.Error(w, "unexpected "+r.Header.Get("X-Amz-Target"), 400)
	}
}

func newStore(t *testing.T) (*Store, *fakeSSM) {
	fake := &fakeSSM{params: map[string]map[string]any{}, policies: map[string]string{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return &Store{API: client, Prefix: "/medic/kv/", Now: func() time.Time { return now }}, fake
}

func TestParameterStoreRoundTrip(t *testing.T) {
	s, fake := newStore(t)
	if _, ok, err := s.Get("missing"); ok || err != nil {
		t.Fatalf("missing key: ok=%v err=%v", ok, err)
	}
	if err := s.Set("maintenance.web-1", "true", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("cooldown.web-1", "1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get("maintenance.web-1"); v != "true" || !ok || err != nil {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	pol := fake.policies["/medic/kv/cooldown.web-1"]
	if !strings.Contains(pol, `"Timestamp":"2026-11-25T13:00:00Z"`) || !strings.HasSuffix(pol, "|Advanced") {
		t.Fatalf("ttl policy: %s", pol)
	}
	items, err := s.List("maint")
	if err != nil || len(items) != 1 || items[0].Key != "maintenance.web-1" {
		t.Fatalf("list: %v %v", items, err)
	}
	if err := s.Delete("maintenance.web-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("maintenance.web-1"); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.Set("", "x", 0); !errors.Is(err, kv.ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
}
