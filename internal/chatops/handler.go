// Package chatops is Medic's Slack app: the /medic slash command and the
// interactivity endpoint (approval buttons). Requests are verified, then
// acknowledged at once (Slack gives an app 3 seconds) and the work is done
// asynchronously, answering through the request's response_url. The same
// Handler serves `medic serve` (Routes) and the chatops Lambda (package
// chatops/lambdaapp).
package chatops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/notify"
	"github.com/medic-sre/medic/internal/slack/verify"
)

// MaxBody bounds a Slack request; real ones are a few KiB.
const MaxBody = 64 << 10

// Job kinds.
const (
	JobCommand     = "command"
	JobInteraction = "interaction"
)

// Job is the work behind one acknowledged request: the body as Slack sent
// it, with Slack's timestamp and signature of it. It is JSON so that the
// Lambda can hand it to a second, asynchronous invocation of itself; Do
// checks the signature again, so a job cannot be made up or altered by
// whoever may invoke the function without the signing secret.
type Job struct {
	Kind      string `json:"medic_chatops_job"`
	Body      string `json:"body"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
}

// Dispatcher runs a job after the request was acknowledged.
type Dispatcher interface {
	Dispatch(ctx context.Context, job Job) error
}

// ExecutionReader is what status and alerts read; execution.Store has it.
type ExecutionReader interface {
	Get(id string) (*execution.Record, error)
	List() ([]*execution.Record, error)
}

// Handler serves Slack's requests. Access, Packs and Verifier are
// required; a nil Runner, Executions, Silences or Approvals makes the
// commands that need it answer that they are not available here.
type Handler struct {
	Verifier   *verify.Verifier
	Access     *access.Config
	Packs      *pack.Set
	Runner     ActionRunner
	Executions ExecutionReader
	Silences   Silences
	Approvals  *Approvals
	// Notifier, when set, opens the thread of a run started from chat
	// (in AWS nothing else does; locally the starter's hook already has).
	Notifier *notify.Notifier
	// Alerts, when set, lists the consolidator's alerts for `alerts`.
	Alerts   AlertReader
	Groups   GroupResolver // nil: grants by group never match
	Respond  Responder     // nil: posts to response_url over HTTP
	Dispatch Dispatcher    // nil: a goroutine (see Wait)
	Jobs     DoneJobs      // nil: a job sent again is done again
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now

	wg sync.WaitGroup
}

// Routes returns the Slack endpoints; mount it at /slack/ in `medic serve`:
//
//	POST /slack/commands      the /medic slash command
//	POST /slack/interactions  button clicks (block_actions)
//	GET  /slack/counters      verification counters (JSON)
func (h *Handler) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", h.accept(JobCommand))
	mux.HandleFunc("POST /slack/interactions", h.accept(JobInteraction))
	mux.HandleFunc("GET /slack/counters", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(h.Verifier.Counters())
	})
	return mux
}

// accept verifies, acknowledges and dispatches one request.
func (h *Handler) accept(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := h.Verifier.VerifyContext(r.Context(), r.Header, body); err != nil {
			h.log().Warn("slack request refused", "path", r.URL.Path, "reason", err.Error(), "counters", h.Verifier.Counters())
			if errors.Is(err, verify.ErrUnavailable) {
				http.Error(w, "Medic cannot check requests for replays right now; try again", http.StatusServiceUnavailable)
				return
			}
			http.Error(w, "invalid Slack request signature", http.StatusUnauthorized)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "malformed form body", http.StatusBadRequest)
			return
		}
		if form.Get("ssl_check") != "" {
			return // Slack checking the certificate: nothing to do
		}
		job := Job{Kind: kind, Body: string(body), Timestamp: r.Header.Get(verify.HeaderTimestamp), Signature: r.Header.Get(verify.HeaderSignature)}
		if err := h.dispatch(r.Context(), job); err != nil {
			h.log().Error("chatops: dispatch failed", "err", err)
			writeJSON(w, ephemeral(":warning: Medic could not start working on that: "+notify.Escape(err.Error())))
			return
		}
		if kind == JobCommand {
			writeJSON(w, ephemeral(fmt.Sprintf(":hourglass_flowing_sand: On it: `%s %s`", notify.Escape(form.Get("command")), notify.Escape(form.Get("text")))))
			return
		}
		w.WriteHeader(http.StatusOK) // interactions: the answer comes later
	}
}

func (h *Handler) dispatch(ctx context.Context, job Job) error {
	if h.Dispatch != nil {
		return h.Dispatch.Dispatch(ctx, job)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := h.Do(context.WithoutCancel(ctx), job); err != nil {
			h.log().Error("chatops: job failed", "kind", job.Kind, "err", err)
		}
	}()
	return nil
}

// Wait blocks until jobs started in goroutines have finished.
func (h *Handler) Wait() { h.wg.Wait() }

// Do performs a job: the asynchronous half of a request. Its signature is
// checked again (verify.VerifyJob); a job that fails is refused and does
// nothing.
func (h *Handler) Do(ctx context.Context, job Job) error {
	if err := h.Verifier.VerifyJob(job.Timestamp, job.Signature, []byte(job.Body)); err != nil {
		h.log().Warn("chatops: job refused", "kind", job.Kind, "reason", err.Error())
		return fmt.Errorf("chatops: job refused: %w", err)
	}
	if h.Jobs == nil {
		return h.do(ctx, job)
	}
	if done, err := h.Jobs.Done(ctx, job); err != nil || done {
		if done {
			h.log().Warn("chatops: job already done: ignored", "kind", job.Kind)
		}
		return err
	}
	if err := h.do(ctx, job); err != nil {
		return err
	}
	return h.Jobs.MarkDone(ctx, job)
}

// do performs a verified job.
func (h *Handler) do(ctx context.Context, job Job) error {
	form, err := url.ParseQuery(job.Body)
	if err != nil {
		return fmt.Errorf("chatops: job body: %w", err)
	}
	switch job.Kind {
	case JobCommand:
		return h.command(ctx, form, requestKey(form, job.Timestamp))
	case JobInteraction:
		return h.interaction(ctx, form.Get("payload"))
	}
	return fmt.Errorf("chatops: unknown job kind %q", job.Kind)
}

// requestKey identifies one slash command invocation, the same however
// often its job is retried: a run it starts is named after it, so a retry
// finds the execution already started instead of starting another.
func requestKey(form url.Values, timestamp string) string {
	parts := []string{form.Get("team_id"), form.Get("channel_id"), form.Get("user_id"), form.Get("trigger_id"),
		timestamp, form.Get("command"), form.Get("text")}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// who identifies the person; group memberships are looked up only when a
// grant or an approval names groups.
func (h *Handler) who(ctx context.Context, user, channel string, needGroups bool) access.Who {
	w := access.Who{User: user, Channel: channel}
	if h.Groups != nil && (needGroups || h.Access.NeedsGroups()) {
		groups, err := h.Groups.UserGroups(ctx, user)
		if err != nil {
			h.log().Warn("slack: user groups lookup failed; group grants will not match", "user", user, "err", err)
		}
		w.Groups = groups
	}
	return w
}

func (h *Handler) respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	if responseURL == "" {
		return errors.New("chatops: request has no response_url")
	}
	r := h.Respond
	if r == nil {
		r = HTTPResponder{}
	}
	if err := r.Respond(ctx, responseURL, msg); err != nil {
		return fmt.Errorf("chatops: answering through response_url: %w", err)
	}
	return nil
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
