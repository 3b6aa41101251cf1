package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/rejected"
	"github.com/medic-sre/medic/internal/trigger"
)

// unrecorded answers like an engine whose state store cannot write.
type unrecorded struct{}

func (unrecorded) Handle(context.Context, trigger.Trigger) []engine.Outcome {
	return []engine.Outcome{{Rule: "r", Matched: true, Error: "consolidation: not recorded: disk full", Retry: true}}
}

type failingKeeper struct{}

func (failingKeeper) Keep(string, string, []byte) error { return errors.New("disk full") }

// reliabilityToken is the API token the read endpoints are opened with.
const reliabilityToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func reliabilityServer(t *testing.T, h *Server) *httptest.Server {
	if h.Executions == nil {
		h.Executions, _ = execution.OpenFileStore(t.TempDir())
	}
	h.Log = slog.New(slog.DiscardHandler)
	h.APIToken = reliabilityToken
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	return srv
}

func alarmBody(t *testing.T) []byte {
	b, err := os.ReadFile("../../events/local/disk-full-alarm.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A delivery the engine could not record gets 503 with Retry-After, not
// 202: the sender must send it again.
func TestUnrecordedDeliveryIs503(t *testing.T) {
	srv := reliabilityServer(t, &Server{Engine: unrecorded{}})
	resp, err := http.Post(srv.URL+"/v1/events", "application/json", strings.NewReader(string(alarmBody(t))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// A malformed delivery is refused with 400 and kept, body and reason, in
// the rejected area; one that cannot be kept gets 503 so it is retried.
func TestRefusedDeliveryIsKept(t *testing.T) {
	dir := t.TempDir()
	keep := &rejected.Store{Dir: dir}
	srv := reliabilityServer(t, &Server{Engine: &seen{}, Rejected: keep})
	hostile := "{\"evil\":\"\x1b[31m\nline\"" // truncated JSON with a terminal escape
	code, body := post(t, srv.URL+"/v1/events/cloudwatch", []byte(hostile))
	if code != http.StatusBadRequest {
		t.Fatalf("status %d: %s", code, body)
	}
	list, err := keep.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("kept %+v, %v", list, err)
	}
	e := list[0]
	if e.Body != hostile || e.Path != "/v1/events/cloudwatch" || e.Reason == "" || e.At.IsZero() {
		t.Fatalf("entry = %+v", e)
	}
	srv2 := reliabilityServer(t, &Server{Engine: &seen{}, Rejected: failingKeeper{}})
	if code, body := post(t, srv2.URL+"/v1/events", []byte("not json")); code != http.StatusServiceUnavailable {
		t.Fatalf("unkept refusal: status %d: %s", code, body)
	}
}

// A body over the limit is kept bounded.
func TestOversizedRefusalIsKeptBounded(t *testing.T) {
	keep := &rejected.Store{Dir: t.TempDir()}
	srv := reliabilityServer(t, &Server{Engine: &seen{}, Rejected: keep})
	big := strings.Repeat("a", 2<<20)
	code, _ := post(t, srv.URL+"/v1/events", []byte(big))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", code)
	}
	list, _ := keep.List()
	if len(list) != 1 || !list[0].Truncated || len(list[0].Body) != rejected.MaxBody {
		t.Fatalf("entry: truncated %v, %d bytes", list[0].Truncated, len(list[0].Body))
	}
}

// GET /v1/executions skips a truncated record and says so in a header.
func TestListSkipsDamagedRecord(t *testing.T) {
	state := t.TempDir()
	store, _ := execution.OpenFileStore(filepath.Join(state, "executions"))
	store.Quarantine = quarantine.ForStateDir(state)
	store.Create(&execution.Record{ID: "fine", Status: execution.Succeeded})
	os.WriteFile(filepath.Join(state, "executions", "cut.json"), []byte(`{"id":"cu`), 0o644)
	srv := reliabilityServer(t, &Server{Engine: &seen{}, Executions: store})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/executions", nil)
	req.Header.Set("Authorization", "Bearer "+reliabilityToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Medic-Quarantined") != "1" {
		t.Fatalf("status %d, header %q", resp.StatusCode, resp.Header.Get("Medic-Quarantined"))
	}
}
