package chatops

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/state"
)

// RunPartition is the state partition of chat runs: what Step Functions
// does not keep (who asked, the alias, the masked parameters), so a record
// rebuilt from Step Functions can be completed.
const RunPartition = "chatops-run"

// RunTTL is how long a chat run's origin is kept.
const RunTTL = 30 * 24 * time.Hour

// Runs remembers chat runs in the state store.
type Runs struct {
	State state.Store
	Now   func() time.Time
}

// run is what is kept of a record: its origin, not its progress.
type run struct {
	Rule     string           `json:"rule,omitempty"`
	Action   string           `json:"action"`
	Params   map[string]any   `json:"params,omitempty"`
	Trigger  json.RawMessage  `json:"trigger"`
	Timeline []execution.Step `json:"timeline,omitempty"`
}

// Put keeps rec's origin (the steps before the workflow ran).
func (r Runs) Put(ctx context.Context, rec *execution.Record) error {
	trig, err := json.Marshal(rec.Trigger)
	if err != nil {
		return err
	}
	data, err := json.Marshal(run{Rule: rec.Rule, Action: rec.Action, Params: rec.Params, Trigger: trig, Timeline: rec.Timeline})
	if err != nil {
		return err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	_, err = r.State.Put(ctx, state.Item{Key: state.Key{PK: RunPartition, SK: rec.ID}, Value: data, ExpiresAt: now().Add(RunTTL)}, state.Always())
	return err
}

// Complete adds the kept origin of rec, if it was a chat run: parameters,
// trigger, rule and the origin steps before the workflow's own.
func (r Runs) Complete(ctx context.Context, rec *execution.Record) error {
	it, ok, err := r.State.Get(ctx, state.Key{PK: RunPartition, SK: rec.ID})
	if err != nil || !ok {
		return err
	}
	var kept run
	if err := json.Unmarshal(it.Value, &kept); err != nil {
		return fmt.Errorf("chat run %s: stored record is corrupt: %w", rec.ID, err)
	}
	if err := json.Unmarshal(kept.Trigger, &rec.Trigger); err != nil {
		return fmt.Errorf("chat run %s: stored trigger is corrupt: %w", rec.ID, err)
	}
	rec.Rule, rec.Params = kept.Rule, kept.Params
	if rec.Action == "" {
		rec.Action = kept.Action
	}
	rec.Timeline = append(kept.Timeline, rec.Timeline...)
	return nil
}

// CompletedExecutions reads executions (from Step Functions) and completes
// chat runs with their kept origin, so status, the thread and the alias's
// result format see who asked and with which parameters.
type CompletedExecutions struct {
	Executions ExecutionReader
	Runs       Runs
	Timeout    time.Duration // default 3 s per lookup
}

// Get implements ExecutionReader.
func (c CompletedExecutions) Get(id string) (*execution.Record, error) {
	rec, err := c.Executions.Get(id)
	if err != nil {
		return nil, err
	}
	return rec, c.complete(rec)
}

// List implements ExecutionReader.
func (c CompletedExecutions) List() ([]*execution.Record, error) {
	recs, err := c.Executions.List()
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if err := c.complete(rec); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (c CompletedExecutions) complete(rec *execution.Record) error {
	d := c.Timeout
	if d <= 0 {
		d = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Runs.Complete(ctx, rec)
}
