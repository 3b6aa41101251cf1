package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/trigger"
)

// seen records every trigger intake hands over.
type seen struct {
	mu       sync.Mutex
	triggers []trigger.Trigger
}

func (s *seen) Handle(_ context.Context, t trigger.Trigger) []engine.Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.triggers = append(s.triggers, t)
	return nil
}

func newServer(t *testing.T) (*httptest.Server, *seen, execution.Store) {
	store, err := execution.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &seen{}
	srv := httptest.NewServer((&Server{Engine: h, Executions: store, APIToken: testToken, Log: slog.New(slog.DiscardHandler)}).Routes())
	t.Cleanup(srv.Close)
	return srv, h, store
}

func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every sample in events/ through `medic serve`'s HTTP intake: alarms and
// Alertmanager on /v1/events, generic webhooks on /v1/webhooks/{path}, and
// every invalid one refused with 400 and a reason.
func TestIntakeTakesEverySampleEvent(t *testing.T) {
	paths, _ := filepath.Glob("../../events/*/*")
	for _, p := range paths {
		dir := filepath.Base(filepath.Dir(p))
		if dir == "control" {
			continue // not alerts: the ingest Lambda's own events (internal/ingest)
		}
		t.Run(dir+"/"+filepath.Base(p), func(t *testing.T) {
			raw, _ := os.ReadFile(p)
			srv, h, _ := newServer(t)
			url := srv.URL + "/v1/events"
			if dir == "webhook" {
				url = srv.URL + "/v1/webhooks/deploys/finished"
			}
			code, body := post(t, url, raw)
			if dir == "invalid" {
				if code != http.StatusBadRequest || !strings.Contains(body, `"error"`) || len(h.triggers) != 0 {
					t.Fatalf("invalid event: %d %s", code, body)
				}
				return
			}
			if code != http.StatusAccepted || len(h.triggers) == 0 {
				t.Fatalf("valid event: %d %s", code, body)
			}
			if dir == "webhook" && !strings.Contains(h.triggers[0].Payload["url"].(string), "deploys/finished") {
				t.Fatalf("webhook url not kept: %v", h.triggers[0].Payload)
			}
		})
	}
}

func TestIntakeRefusesHugeBodies(t *testing.T) {
	srv, h, _ := newServer(t)
	code, body := post(t, srv.URL+"/v1/events", bytes.Repeat([]byte(" "), 2<<20))
	if code != http.StatusRequestEntityTooLarge || len(h.triggers) != 0 {
		t.Fatalf("%d %s", code, body)
	}
}

func TestExecutionsAPI(t *testing.T) {
	srv, _, store := newServer(t)
	rec := &execution.Record{ID: "linux-x-1", Status: execution.Succeeded, Started: time.Now()}
	if err := store.Create(rec); err != nil {
		t.Fatal(err)
	}
	resp, err := authedGet(srv.URL+"/v1/executions/linux-x-1", testToken)
	if err != nil {
		t.Fatal(err)
	}
	var got execution.Record
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.ID != rec.ID || got.Status != execution.Succeeded {
		t.Fatalf("%+v", got)
	}
	for path, want := range map[string]int{"/v1/executions/nope": 404, "/v1/executions/..%2f..%2fetc": 400, "/v1/executions": 200} {
		resp, err := authedGet(srv.URL+path, testToken)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// testToken is the API token of the servers these tests start.
const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func authedGet(url, token string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return http.DefaultClient.Do(req)
}
