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
	"strings"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/intake"
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
}

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
			s.fail(w, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", sensor.MaxBodyBytes))
			return
		}
		req := sensor.Request{Path: r.URL.Path, Hint: hint, Headers: flatHeaders(r.Header)}
		res, err := intake.Process(r.Context(), s.Engine, s.Log, body, req)
		if err != nil {
			s.fail(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusAccepted, res)
	}
}

func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

func (s *Server) listExecutions(w http.ResponseWriter, _ *http.Request) {
	recs, err := s.Executions.List()
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err)
		return
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
