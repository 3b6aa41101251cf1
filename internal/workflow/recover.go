package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/medic-sre/medic/internal/execution"
)

// stateInfo is what recovery needs to know of a top-level state: whether
// running it again could act twice.
type stateInfo struct {
	Type     string `json:"Type"`
	Resource string `json:"Resource"`
	// Function is Parameters.FunctionName of a Lambda task.
	Function string
}

// topStates reads the top-level states of a definition (the interpreter
// keeps its parse private; this is the part recovery reads).
func topStates(def []byte) (map[string]stateInfo, error) {
	var raw struct {
		States map[string]struct {
			stateInfo
			Parameters struct {
				FunctionName any `json:"FunctionName"`
			} `json:"Parameters"`
		} `json:"States"`
	}
	if err := json.Unmarshal(def, &raw); err != nil {
		return nil, err
	}
	out := make(map[string]stateInfo, len(raw.States))
	for name, s := range raw.States {
		info := s.stateInfo
		info.Function, _ = s.Parameters.FunctionName.(string)
		out[name] = info
	}
	return out, nil
}

// awaitsToken reports a task that waits for a callback (an approval): it
// sits there for as long as a human takes.
func (i stateInfo) awaitsToken() bool {
	return i.Type == "Task" && strings.HasSuffix(i.Resource, ".waitForTaskToken")
}

// replaySafe reports whether running the state again repeats nothing
// that matters: control flow, waits, and calls to the functions named
// safe (asking for an approval again, a chat message sent twice).
func (i stateInfo) replaySafe(safeFunctions map[string]bool) bool {
	switch i.Type {
	case "Pass", "Choice", "Wait", "Succeed", "Fail":
		return true
	case "Task":
		return strings.HasPrefix(i.Resource, "arn:aws:states:::lambda:invoke") && safeFunctions[i.Function]
	}
	return false // Parallel and Map hold states of their own
}

// Replayable reports whether an execution a crash interrupted can run
// again from its start: only when every state it entered is replay-safe,
// so nothing that changed a target can happen twice. Otherwise the
// reason names the state that makes it unsafe.
func (s *LocalStarter) Replayable(rec *execution.Record) (ok bool, why string) {
	states, found := s.Library.states[rec.StateMachine]
	if !found {
		return false, fmt.Sprintf("state machine %q is no longer loaded", rec.StateMachine)
	}
	safe := map[string]bool{}
	for _, f := range s.ReplaySafeFunctions {
		safe[f] = true
	}
	for _, step := range rec.Timeline {
		if step.Kind != "state" {
			continue
		}
		info, known := states[step.Name]
		if !known || !info.replaySafe(safe) {
			return false, fmt.Sprintf("state %s had started and may have acted; running it again could act twice", step.Name)
		}
	}
	return true, ""
}

// LastState is the last state the execution entered, "" before the first.
func LastState(rec *execution.Record) string {
	for i := len(rec.Timeline) - 1; i >= 0; i-- {
		if rec.Timeline[i].Kind == "state" {
			return rec.Timeline[i].Name
		}
	}
	return ""
}

// Orphans are the RUNNING executions whose owner process on this host is
// gone (a crash, kill -9, a power cut), and those recorded before
// executions had owners. Runs of a live process are left alone.
func (s *LocalStarter) Orphans() ([]*execution.Record, error) {
	recs, err := s.Store.List()
	if err != nil {
		return nil, err
	}
	var out []*execution.Record
	for _, rec := range recs {
		if rec.Status == execution.Running && rec.Owner != s.owner() && !ownerAlive(rec.Owner) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Resume runs rec again from the start of its machine, under the same
// record and name, with input rebuilt by the caller. Use it only when
// Replayable says so.
func (s *LocalStarter) Resume(ctx context.Context, rec *execution.Record, input any) error {
	m, ok := s.Library.Machine(rec.StateMachine)
	if !ok {
		return fmt.Errorf("state machine %q not found in statemachines/", rec.StateMachine)
	}
	rec.Owner = s.owner()
	rec.Add(time.Now(), "recover", "restart", "medic serve restarted during state "+orNone(LastState(rec))+"; running the workflow again from its start (nothing it did yet acts twice)")
	if err := s.Store.Put(rec); err != nil {
		return err
	}
	s.launch(ctx, m, rec, input)
	return nil
}

func orNone(state string) string {
	if state == "" {
		return "(none yet)"
	}
	return state
}

// Owner names this process: host:pid.
func Owner() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

func (s *LocalStarter) owner() string {
	if s.Owner == "" {
		return Owner()
	}
	return s.Owner
}

// ownerAlive reports whether the owner process still runs. An owner on
// another host is taken as alive: this process cannot tell, and must not
// take over another machine's runs.
func ownerAlive(owner string) bool {
	host, pidText, found := strings.Cut(owner, ":")
	if !found {
		return false // no owner recorded
	}
	if me, _ := os.Hostname(); host != me {
		return true
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// Running reports whether this starter is running the execution now.
func (s *LocalStarter) Running(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.at[id]
	return ok
}
