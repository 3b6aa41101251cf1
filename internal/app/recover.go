package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/workflow"
)

// StartupReport is what `medic serve` found when it started.
type StartupReport struct {
	// Resumed are interrupted executions run again from their start
	// (nothing they had done could act twice).
	Resumed []string
	// Failed are interrupted executions marked FAILED, each with the
	// escalation that told a human ("" when it could not be sent).
	Failed []Interrupted
	// Quarantined are the damaged state files set aside, this start or
	// before: `medic doctor` lists them too.
	Quarantined []quarantine.Entry
}

// Interrupted is one execution recovery could not resume.
type Interrupted struct {
	Execution  string `json:"execution"`
	Reason     string `json:"reason"`
	Escalation string `json:"escalation,omitempty"`
}

// Recover deals with every execution a previous `medic serve` (or `medic
// run`) on this state directory left RUNNING when it died: each is
// resumed when that is safe, or failed with the reason and escalated, and
// its target's lease released, so no alert's remediation is abandoned
// silently. Call it once at start, before serving.
func (l *Local) Recover(ctx context.Context) (StartupReport, error) {
	var rep StartupReport
	orphans, err := l.Starter.Orphans()
	if err != nil {
		return rep, fmt.Errorf("recovering interrupted executions: %w", err)
	}
	var problems []error
	for _, rec := range orphans {
		resumed, failed, err := l.recoverOne(ctx, rec)
		switch {
		case resumed:
			rep.Resumed = append(rep.Resumed, rec.ID)
		case failed != nil:
			rep.Failed = append(rep.Failed, *failed)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("execution %s: %w", rec.ID, err))
		}
	}
	rep.Quarantined, err = l.Quarantine.List()
	return rep, errors.Join(append(problems, err)...)
}

func (l *Local) recoverOne(ctx context.Context, rec *execution.Record) (resumed bool, failed *Interrupted, err error) {
	log := l.Engine.Log
	ok, why := l.Starter.Replayable(rec)
	if ok {
		input, ierr := l.Engine.ReplayInput(rec)
		if ierr == nil {
			if err := l.Starter.Resume(ctx, rec, input); err != nil {
				return false, nil, err
			}
			log.Warn("interrupted execution resumed", "execution", rec.ID, "state", workflow.LastState(rec))
			return true, nil, nil
		}
		why = "it cannot be run again: " + ierr.Error()
	}
	reason := fmt.Sprintf("interrupted: medic serve stopped during state %s (%s)", stateOrStart(rec), why)
	esc, eerr := l.Engine.Interrupted(ctx, rec, reason)
	now := time.Now()
	rec.Status, rec.Stopped, rec.Error, rec.Cause = execution.Failed, now, "Medic.Interrupted", reason
	rec.Add(now, "outcome", string(execution.Failed), "Medic.Interrupted: "+reason)
	if esc != "" {
		rec.Add(now, "escalate", esc, "a human was told")
	}
	perr := l.Executions.Put(rec)
	log.Error("interrupted execution failed and escalated", "execution", rec.ID, "reason", reason, "escalation", esc, "err", errors.Join(eerr, perr))
	return false, &Interrupted{Execution: rec.ID, Reason: reason, Escalation: esc}, errors.Join(eerr, perr)
}

func stateOrStart(rec *execution.Record) string {
	if s := workflow.LastState(rec); s != "" {
		return s
	}
	return "(before its first state)"
}

// Print writes the report for the terminal; nothing when all is well.
func (r StartupReport) Print(w io.Writer) {
	for _, id := range r.Resumed {
		fmt.Fprintf(w, "recovered: execution %s was interrupted; running it again from its start\n", id)
	}
	for _, f := range r.Failed {
		esc := "escalation could not be sent (see the log)"
		if f.Escalation != "" {
			esc = "escalated as " + f.Escalation
		}
		fmt.Fprintf(w, "recovered: execution %s FAILED: %s; %s\n", f.Execution, f.Reason, esc)
	}
	if n := len(r.Quarantined); n > 0 {
		fmt.Fprintf(w, "quarantine: %d damaged state file(s) set aside; `medic doctor` lists them\n", n)
	}
}
