package httpfn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestInvokePerformsTheRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", r.Method+" "+r.Header.Get("X-Token"))
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("queued"))
	}))
	defer srv.Close()
	out, err := (&Handler{}).Invoke(context.Background(), map[string]any{
		"url": srv.URL, "method": "delete", "headers": map[string]any{"X-Token": "abc"}, "timeout_seconds": 5.0,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["status_code"] != 202.0 || m["body"] != "queued" || m["headers"].(map[string]any)["X-Seen"] != "DELETE abc" || m["truncated"] != false {
		t.Fatalf("%v", m)
	}
}

func TestLargeBodiesAreTruncated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", MaxBody+10)))
	}))
	defer srv.Close()
	resp, err := (&Handler{}).Do(context.Background(), Request{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != MaxBody || !resp.Truncated {
		t.Fatalf("body %d truncated=%v", len(resp.Body), resp.Truncated)
	}
}

func TestBadRequestsAndTransportErrorsAreErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	cases := []struct {
		payload any
		want    string
	}{
		{map[string]any{"url": "ftp://x/y"}, "want an absolute http(s) URL"},
		{map[string]any{"url": "/relative"}, "want an absolute http(s) URL"},
		{map[string]any{"url": "http://x", "method": "BAD METHOD"}, "invalid method"},
		{map[string]any{"url": 42}, "invalid payload"},
		{map[string]any{"url": slow.URL + "/?token=SECRET", "timeout_seconds": 0.2}, "deadline exceeded"},
	}
	for _, c := range cases {
		_, err := (&Handler{}).Invoke(context.Background(), c.payload)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.payload, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("the error leaks the query: %v", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"url":"http://x","method":"GET","headers":{"a":"b"},"body":"x","timeout_seconds":1}`)
	f.Add(`{"url":1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		var payload any
		if json.Unmarshal([]byte(s), &payload) != nil {
			return
		}
		req, err := decode(payload)
		if err == nil {
			_, _ = build(context.Background(), req)
		}
	})
}
