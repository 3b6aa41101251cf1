// Package intake is the one door every event comes through, locally over
// HTTP and in AWS as the ingest Lambda: parse the body into triggers, hand
// each to the engine, and say what happened. A bad event is refused with its
// reason and never stops the others.
package intake

import (
	"context"
	"log/slog"

	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/trigger"
)

// Handler is the engine's entry point as far as intake is concerned.
type Handler interface {
	Handle(ctx context.Context, t trigger.Trigger) []engine.Outcome
}

// Result reports one body's processing.
type Result struct {
	Triggers []TriggerResult `json:"triggers"`
}

// TriggerResult is one trigger and the rules it fired.
type TriggerResult struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Outcomes []engine.Outcome `json:"outcomes"`
}

// Process parses body and runs every trigger in it. The error is the
// parser's: the body was refused as a whole and nothing was started.
func Process(ctx context.Context, h Handler, log *slog.Logger, body []byte, req sensor.Request) (Result, error) {
	triggers, err := sensor.Parse(body, req)
	if err != nil {
		log.Warn("event refused", "reason", bounded(err.Error(), MaxRejectedReason), "path", req.Path, "bytes", len(body))
		return Result{}, err
	}
	res := Result{Triggers: make([]TriggerResult, 0, len(triggers))}
	for _, t := range triggers {
		log.Info("trigger received", "id", t.ID, "type", t.Type, "source", t.Source)
		outcomes := h.Handle(ctx, t)
		if outcomes == nil {
			outcomes = []engine.Outcome{}
		}
		res.Triggers = append(res.Triggers, TriggerResult{ID: t.ID, Type: t.Type, Outcomes: outcomes})
	}
	return res, nil
}
