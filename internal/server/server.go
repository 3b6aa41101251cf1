// Package server is the HTTP face of `medic serve`: event intake for
// CloudWatch, Alertmanager and webhooks, and a read API over executions.
package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/intake"
	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/sensor"
)

// Server routes HTTP requests.
type Server struct {
	Engine     intake.Handler
	Executions execution.Store
	// Tasks, when set, serves the task endpoints over its tokens.
	Tasks *TaskBoard
	// Slack, when set, serves /slack/commands, /slack/interactions and
	// /slack/counters (the chatops handler).
	Slack http.Handler
	// APIToken is the local API token every read and control endpoint
	// requires (Authorization: Bearer …); empty closes them all.
	APIToken string
	// Approvers decides who may approve over HTTP (the chatops grants);
	// nil: only the local operator, the API token's holder.
	Approvers ApprovalGrants
	Log       *slog.Logger
	// Rejected, when set, keeps every delivery refused as malformed, so
	// an operator can see it (`medic events rejected`).
	Rejected RefusalKeeper
}

// RefusalKeeper keeps a refused delivery; an error means it was not kept.
type RefusalKeeper interface {
	Keep(reason, path string, body []byte) error
}

// retryAfterSeconds is what a sender is told to wait when a delivery was
// not recorded (Retry-After).
const retryAfterSeconds = "5"

// Routes returns the handler. Alert senders and Slack have their own
// doors; everything that reads state or controls executions requires the
// API token:
//
//	POST /v1/events          any supported shape, detected from the body
//	POST /v1/events/{kind}   cloudwatch | alertmanager
//	POST /v1/webhooks/{path...}  generic JSON webhook (core.st2.webhook)
//	GET  /v1/executions      list                                    (token)
//	GET  /v1/executions/{id} one, with its timeline                  (token)
//	GET  /v1/tasks, POST /v1/tasks/{token}/{success|failure}          (token)
//	POST /slack/…            Slack's signature; anything else under /slack/ (token)
//	GET  /healthz
func (s *Server) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", s.events(""))
	mux.HandleFunc("POST /v1/events/{kind}", func(w http.ResponseWriter, r *http.Request) {
		s.events(r.PathValue("kind"))(w, r)
	})
	mux.HandleFunc("POST /v1/webhooks/{path...}", s.events("webhook"))
	mux.Handle("GET /v1/executions", s.authorisedFunc(s.listExecutions))
	mux.Handle("GET /v1/executions/{id}", s.authorisedFunc(s.getExecution))
	if s.Tasks != nil {
		s.taskRoutes(mux)
	}
	if s.Slack != nil {
		mux.Handle("/slack/", s.slackRoutes())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func (s *Server) events(hint string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sensor.MaxBodyBytes))
		if err != nil {
			s.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", sensor.MaxBodyBytes), body)
			return
		}
		req := sensor.Request{Path: r.URL.Path, Hint: hint, Headers: flatHeaders(r.Header)}
		res, err := intake.Process(r.Context(), s.Engine, s.Log, body, req)
		if err != nil {
			s.refuse(w, r, http.StatusBadRequest, err, body)
			return
		}
		if notRecorded(res) {
			// 202 would tell the sender it may forget the delivery.
			w.Header().Set("Retry-After", retryAfterSeconds)
			writeJSON(w, http.StatusServiceUnavailable, res)
			return
		}
		writeJSON(w, http.StatusAccepted, res)
	}
}

// refuse answers a malformed delivery with code once it is kept; one that
// cannot be kept gets 503, so the sender retries instead of losing it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, reason error, body []byte) {
	if s.Rejected != nil {
		if err := s.Rejected.Keep(reason.Error(), r.URL.Path, body); err != nil {
			s.Log.Error("refused delivery could not be kept", "path", r.URL.Path, "reason", reason, "err", err)
			w.Header().Set("Retry-After", retryAfterSeconds)
			s.fail(w, http.StatusServiceUnavailable, fmt.Errorf("%v; and it could not be recorded: retry later", reason))
			return
		}
	}
	s.fail(w, code, reason)
}

// notRecorded reports a result with an outcome the engine could not
// record durably.
func notRecorded(res intake.Result) bool {
	for _, t := range res.Triggers {
		for _, o := range t.Outcomes {
			if o.Retry {
				return true
			}
		}
	}
	return false
}

func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// quarantineReporter is an execution store that skips damaged records
// (execution.FileStore) and says which.
type quarantineReporter interface {
	ListReport() ([]*execution.Record, []quarantine.Entry, error)
}

func (s *Server) listExecutions(w http.ResponseWriter, _ *http.Request) {
	var (
		recs    []*execution.Record
		skipped []quarantine.Entry
		err     error
	)
	if qr, ok := s.Executions.(quarantineReporter); ok {
		recs, skipped, err = qr.ListReport()
	} else {
		recs, err = s.Executions.List()
	}
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err)
		return
	}
	if len(skipped) > 0 {
		// The list stays an array; the header says it is not all there.
		w.Header().Set("Medic-Quarantined", strconv.Itoa(len(skipped)))
	}
	writeJSON(w, http.StatusOK, recs)
}

func (s *Server) getExecution(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Executions.Get(r.PathValue("id"))
	switch {
	case errors.Is(err, execution.ErrNotFound):
		s.fail(w, http.StatusNotFound, err)
	case err != nil:
		s.fail(w, http.StatusBadRequest, err)
	default:
		writeJSON(w, http.StatusOK, rec)
	}
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Server) fail(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
