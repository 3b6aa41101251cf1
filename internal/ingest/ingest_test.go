package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
)

type recordingStarter struct {
	mu      sync.Mutex
	started []*execution.Record
}

func (s *recordingStarter) Start(_ context.Context, rec *execution.Record, _ any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.started {
		if r.ID == rec.ID {
			return execution.ErrExists
		}
	}
	s.started = append(s.started, rec)
	return nil
}

func newHandler(t *testing.T) (*Handler, *recordingStarter) {
	st := &recordingStarter{}
	h, err := New(Settings{PacksDir: "../../packs", PollSeconds: 5}, st, kv.Map{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h, st
}

// Every sample event in events/ that reaches the ingest Lambda (alarms via
// EventBridge, SNS or the alarm action, and Alertmanager) goes through the
// handler as the Lambda runtime would hand it over: valid ones yield
// triggers, invalid ones are refused without an error (a retry cannot fix
// them), kept as a rejected record, and start nothing. Generic webhooks
// arrive over HTTP paths instead and are covered by internal/server.
func TestHandlerTakesEverySampleEvent(t *testing.T) {
	var paths []string
	for _, dir := range []string{"cloudwatch", "alertmanager", "local", "invalid"} {
		found, _ := filepath.Glob("../../events/" + dir + "/*.json")
		paths = append(paths, found...)
	}
	if len(paths) < 5 {
		t.Fatalf("only %d sample events found", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h, st, _ := consolidating(t)
			res, err := h.Handle(context.Background(), json.RawMessage(raw))
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			invalid := strings.Contains(p, "/invalid/")
			switch {
			case invalid && (len(res.Triggers) != 0 || len(st.started) != 0 || res.Rejected == nil):
				t.Fatalf("invalid event accepted or not recorded: %+v", res)
			case !invalid && res.Rejected != nil:
				t.Fatalf("valid event recorded as rejected: %+v", res.Rejected)
			case !invalid && len(res.Triggers) == 0:
				t.Fatalf("no trigger from a valid sample")
			}
		})
	}
}

func TestHandlerStartsTheDiskRemediationOnce(t *testing.T) {
	raw, err := os.ReadFile("../../events/local/disk-full-alarm.json")
	if err != nil {
		t.Fatal(err)
	}
	h, st := newHandler(t)
	for range 2 { // EventBridge may deliver twice
		if _, err := h.Handle(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.started) != 1 {
		t.Fatalf("%d executions started, want 1", len(st.started))
	}
	rec := st.started[0]
	if rec.Rule != "linux.free_disk_on_alarm" || rec.StateMachine != "diagnose-remediate-verify" || rec.Params["target"] != "localhost" {
		t.Fatalf("record %+v", rec)
	}
}

func TestSettingsFromEnvNamesTheBadVariable(t *testing.T) {
	env := map[string]string{"MEDIC_STATE_MACHINES": `{"diagnose-remediate-verify":"arn:aws:states:us-east-1:1:stateMachine:x"}`, "MEDIC_POLL_SECONDS": "zero"}
	_, err := SettingsFromEnv(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "MEDIC_POLL_SECONDS") {
		t.Fatalf("got %v", err)
	}
	env["MEDIC_STATE_MACHINES"] = "not json"
	env["MEDIC_POLL_SECONDS"] = "5"
	_, err = SettingsFromEnv(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "MEDIC_STATE_MACHINES") {
		t.Fatalf("got %v", err)
	}
}
