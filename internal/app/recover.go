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
	problems = append(problems, l.releaseEnded(ctx, &rep))
	rep.Quarantined, err = l.Quarantine.List()
	return rep, errors.Join(append(problems, err)...)
}

// releaseEnded finishes the leases a crash left bound: an execution that
// ended but whose end was not yet told to consolidation (killed between
// the two writes), and a start that never got its record (killed between
// the lease and the record), which is escalated: that alert was taken in
// but nothing ran.
func (l *Local) releaseEnded(ctx context.Context, rep *StartupReport) error {
	c := l.Engine.Consolidator
	if c == nil {
		return nil
	}
	bound, err := c.BoundExecutions(ctx)
	problems := []error{err}
	for id, lease := range bound {
		rec, gerr := l.Executions.Get(id)
		switch {
		case gerr == nil && rec.Status.Done():
			problems = append(problems, l.Engine.Finished(ctx, id, rec.Status == execution.Succeeded))
		case gerr == nil: // running: Recover's orphans, or a live `medic run`
		case errors.Is(gerr, execution.ErrNotFound) || errors.Is(gerr, execution.ErrCorrupt):
			if l.Starter.Running(id) {
				continue // started a moment ago, in this process
			}
			reason := fmt.Sprintf("interrupted: medic serve stopped while starting rule %s on %s (no execution record was written)", lease.Rule, lease.Target)
			stub := &execution.Record{ID: id, Rule: lease.Rule, Action: "(not started)"}
			esc, ierr := l.Engine.Interrupted(ctx, stub, reason)
			rep.Failed = append(rep.Failed, Interrupted{Execution: id, Reason: reason, Escalation: esc})
			problems = append(problems, ierr)
		default:
			problems = append(problems, gerr)
		}
	}
	return errors.Join(problems...)
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
