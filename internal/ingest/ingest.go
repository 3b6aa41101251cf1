// Package ingest is the Lambda side of intake: its handler is an ordinary
// function over the raw event, so tests call it with the real event shapes
// kept in events/.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/action"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/intake"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/metrics"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/target"
)

// Settings come from the function's environment, set by the CDK stack.
type Settings struct {
	PacksDir      string            // MEDIC_PACKS_DIR, packs shipped beside bootstrap
	StateMachines map[string]string // MEDIC_STATE_MACHINES: {"name": "arn", ...}
	PollSeconds   int               // MEDIC_POLL_SECONDS
	KVPrefix      string            // MEDIC_KV_PREFIX: Parameter Store path of the datastore
}

// SettingsFromEnv reads Settings; a missing or malformed variable is named.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{PacksDir: getenv("MEDIC_PACKS_DIR"), PollSeconds: 5, KVPrefix: getenv("MEDIC_KV_PREFIX")}
	if s.KVPrefix == "" {
		s.KVPrefix = "/medic/kv"
	}
	if s.PacksDir == "" {
		s.PacksDir = "packs"
	}
	if err := json.Unmarshal([]byte(getenv("MEDIC_STATE_MACHINES")), &s.StateMachines); err != nil {
		return s, fmt.Errorf("MEDIC_STATE_MACHINES: want a JSON object of name to ARN: %w", err)
	}
	if v := getenv("MEDIC_POLL_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return s, fmt.Errorf("MEDIC_POLL_SECONDS: %q is not a positive integer", v)
		}
		s.PollSeconds = n
	}
	return s, nil
}

// Handler processes one Lambda invocation.
type Handler struct {
	engine *engine.Engine
	log    *slog.Logger
	// state keeps the rejected deliveries (the consolidation table).
	state state.Store
	// counts is where EventsRejected goes (CountWith).
	counts metrics.Counter
	// RejectedTTL is how long a rejected record is kept
	// (intake.DefaultRejectedTTL when 0).
	RejectedTTL time.Duration
}

// rejectedSource names the ingest Lambda as where a refusal happened.
const rejectedSource = "ingest-lambda"

// New loads the packs and builds the engine around starter; datastore is
// what `st2kv` reads in rules (Parameter Store in AWS); consolidation is
// the state of grouping and guardrails (the DynamoDB table in AWS; nil
// starts every match at once).
func New(s Settings, starter engine.Starter, datastore kv.Reader, consolidation state.Store, log *slog.Logger) (*Handler, error) {
	packs, err := pack.LoadDir(s.PacksDir)
	if err != nil {
		return nil, err
	}
	e := &engine.Engine{
		Rules:    rule.NewIndex(packs.Rules()),
		Packs:    packs,
		KV:       datastore,
		Starter:  starter,
		Settings: action.Settings{PollSeconds: s.PollSeconds},
		Log:      log,
	}
	if consolidation != nil {
		e.Consolidator = &dispatch.Consolidator{State: consolidation, Inhibit: packs.InhibitRules(), Topology: packs.Topology()}
	}
	return &Handler{engine: e, log: log, state: consolidation, counts: metrics.Discard{}}, nil
}

// CountWith sends the engine's counts (alerts, remediations, escalations)
// to c: EMF lines on stdout in the Lambda.
func (h *Handler) CountWith(c metrics.Counter) {
	if c == nil {
		c = metrics.Discard{}
	}
	h.engine.Metrics, h.counts = c, c
}

// ResolveWith resolves alerts' instances (a Prometheus instance label)
// with r: in the Lambda, a target.Cache over EC2 DescribeInstances, kept
// for the life of the Lambda instance. Without it, rules that read
// trigger.target are refused.
func (h *Handler) ResolveWith(r target.Resolver) { h.engine.Targets = r }

// Response is what one invocation did: the triggers of an alert event,
// the group actions of a flush, or the execution whose end was recorded.
type Response struct {
	intake.Result
	Flushed  []engine.Outcome `json:"flushed,omitempty"`
	Finished string           `json:"finished,omitempty"`
	// Rejected is the record a refused event was kept as.
	Rejected *intake.Rejected `json:"rejected,omitempty"`
}

// Handle takes any event shape intake accepts. A refused event is kept
// as a rejected record in the state table and counted (EventsRejected),
// then acknowledged: retrying cannot fix it. When it cannot be recorded,
// or an action fails to start, Handle returns an error so the asynchronous
// invoke is retried and, in the end, lands in the dead-letter queue.
// Retries are safe: executions are named deterministically, and a rejected
// body is one record however often it comes.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (Response, error) {
	if dispatch.IsFlushEvent(event) {
		return h.flush(ctx)
	}
	if sc, ok, err := parseStatusChange(event); ok {
		if err != nil {
			return h.reject(ctx, event, err)
		}
		return h.finished(ctx, sc)
	}
	res, err := intake.Process(ctx, h.engine, h.log, event, sensor.Request{})
	if err != nil {
		return h.reject(ctx, event, err)
	}
	var failures []string
	for _, t := range res.Triggers {
		for _, o := range t.Outcomes {
			switch {
			case o.Error != "" && o.Rule == "":
				failures = append(failures, o.Error) // not a rule's: the delivery was not recorded
			case o.Error != "":
				failures = append(failures, o.Rule+": "+o.Error)
			}
		}
	}
	if len(failures) > 0 {
		return Response{Result: res}, errors.New("actions not started or alert not recorded: " + strings.Join(failures, "; "))
	}
	return Response{Result: res}, nil
}

// reject keeps a refused event. Only a refusal that was recorded is
// acknowledged; otherwise the error makes the invoke retried.
func (h *Handler) reject(ctx context.Context, event []byte, reason error) (Response, error) {
	h.counts.Add(metrics.EventsRejected, 1)
	rec := intake.NewRejected(event, rejectedSource, reason, h.now())
	stored, err := intake.RecordRejected(ctx, h.state, rec, h.RejectedTTL)
	if err != nil {
		// rec.Reason, not reason: it is bounded, and the sender may have
		// made the refusal as big as the body.
		h.log.Error("event refused and not recorded: failing the invoke so it is retried", "reason", rec.Reason, "err", err)
		return Response{}, fmt.Errorf("refused event (%s) not recorded: %w", rec.Reason, err)
	}
	h.log.Warn("event refused and recorded", "rejected", stored.ID, "count", stored.Count, "reason", stored.Reason, "bytes", stored.Bytes)
	return Response{Rejected: &stored}, nil
}

// now is the engine's clock, so tests move both together.
func (h *Handler) now() time.Time {
	if h.engine.Now != nil {
		return h.engine.Now()
	}
	return time.Now()
}
