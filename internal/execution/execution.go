// Package execution records what Medic did about an alert: the trigger, the
// rule that matched, every workflow step and the outcome. A record is the
// timeline people read in the terminal, in Slack and through
// `medic executions get`.
package execution

import (
	"errors"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// Status is a Step Functions execution status.
type Status string

const (
	Running   Status = "RUNNING"
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	TimedOut  Status = "TIMED_OUT"
	Aborted   Status = "ABORTED"
)

// Done reports whether the execution has ended.
func (s Status) Done() bool { return s != Running && s != "" }

// Step is one line of the timeline.
type Step struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"` // alert, rule, action, state, task, outcome
	Name   string    `json:"name"`
	Detail string    `json:"detail,omitempty"`
}

// Record is one execution: one action run started by one rule for one trigger.
type Record struct {
	ID           string          `json:"id"`
	StateMachine string          `json:"state_machine"`
	Rule         string          `json:"rule"`
	Action       string          `json:"action"`
	Trigger      trigger.Trigger `json:"trigger"`
	Params       map[string]any  `json:"params"` // secrets already masked
	Status       Status          `json:"status"`
	Started      time.Time       `json:"started"`
	Stopped      time.Time       `json:"stopped,omitzero"`
	Output       any             `json:"output,omitempty"`
	Error        string          `json:"error,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	Timeline     []Step          `json:"timeline"`
	// Owner is the process running the execution locally (host:pid), so
	// a restart can tell the runs a crash interrupted from those another
	// live process (a `medic run`) still owns.
	Owner string `json:"owner,omitempty"`
}

// Add appends a step to the timeline.
func (r *Record) Add(at time.Time, kind, name, detail string) {
	r.Timeline = append(r.Timeline, Step{Time: at, Kind: kind, Name: name, Detail: detail})
}

// ErrExists is returned by Store.Create when an execution of that ID already
// exists: the at-least-once delivery of an alert must not start a second run.
var ErrExists = errors.New("execution already exists")

// ErrNotFound is returned by Store.Get for an unknown ID.
var ErrNotFound = errors.New("execution not found")

// Store keeps execution records.
type Store interface {
	// Create stores a new record, or returns ErrExists.
	Create(rec *Record) error
	// Put replaces a record.
	Put(rec *Record) error
	Get(id string) (*Record, error)
	// List returns all records, newest first.
	List() ([]*Record, error)
}
