package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/execution"
)

// LocalStarter runs executions in the in-process ASL interpreter: the local
// counterpart of Step Functions StartExecution.
type LocalStarter struct {
	Library *Library
	Tasks   asl.TaskHandler
	Store   execution.Store
	Tokens  *asl.TokenHub
	Clock   asl.Clock
	Log     *slog.Logger
	// OnStart, when set, is told of a new execution before it runs.
	OnStart func(rec *execution.Record)
	// OnStep, when set, is told of every timeline step as it happens.
	OnStep func(rec *execution.Record, step execution.Step)
	// OnDone, when set, is told when an execution ends.
	OnDone func(rec *execution.Record)
	// Owner is stamped on every record this starter runs (default host:pid
	// of this process), so a restart can find what a crash interrupted.
	Owner string
	// ReplaySafeFunctions are the Lambda functions a workflow may call
	// again after a crash without harm (asking for an approval, posting a
	// message); see Replayable.
	ReplaySafeFunctions []string

	wg sync.WaitGroup
	mu sync.Mutex
	// at is where each running execution is, for Quiesce.
	at map[string]position
}

type position struct{ machine, state string }

// Start records the execution and runs it in the background. A record with
// the same ID means this execution was already started: execution.ErrExists.
func (s *LocalStarter) Start(ctx context.Context, rec *execution.Record, input any) error {
	m, ok := s.Library.Machine(rec.StateMachine)
	if !ok {
		return fmt.Errorf("state machine %q not found in statemachines/", rec.StateMachine)
	}
	rec.Status = execution.Running
	rec.Owner = s.owner()
	if err := s.Store.Create(rec); err != nil {
		return err
	}
	if s.OnStart != nil {
		s.OnStart(rec)
	}
	s.launch(ctx, m, rec, input)
	return nil
}

func (s *LocalStarter) launch(ctx context.Context, m *asl.Machine, rec *execution.Record, input any) {
	s.track(rec.ID, position{machine: rec.StateMachine})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.untrack(rec.ID)
		s.run(context.WithoutCancel(ctx), m, rec, input)
	}()
}

func (s *LocalStarter) track(id string, p position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[string]position{}
	}
	s.at[id] = p
}

func (s *LocalStarter) untrack(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.at, id)
}

// Quiesce waits until every running execution has ended or is waiting
// for a callback (an approval, kept on disk and asked again after a
// restart), or until ctx ends; it returns the executions still busy then.
// Shutdown uses it: a step in flight gets to finish and be recorded.
func (s *LocalStarter) Quiesce(ctx context.Context) []string {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		busy := s.busy()
		if len(busy) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return busy
		case <-tick.C:
		}
	}
}

func (s *LocalStarter) busy() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var busy []string
	for id, p := range s.at {
		if info, ok := s.Library.states[p.machine][p.state]; !ok || !info.awaitsToken() {
			busy = append(busy, id)
		}
	}
	sort.Strings(busy)
	return busy
}

// Wait blocks until every started execution has ended.
func (s *LocalStarter) Wait() { s.wg.Wait() }

func (s *LocalStarter) run(ctx context.Context, m *asl.Machine, rec *execution.Record, input any) {
	var mu sync.Mutex // the observer is called from Parallel/Map branches too
	observe := func(ev asl.Event) {
		if ev.Type == asl.StateEntered {
			s.track(rec.ID, position{machine: rec.StateMachine, state: ev.State})
		}
		step, ok := stepFor(ev)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		rec.Timeline = append(rec.Timeline, step)
		s.save(rec)
		if s.OnStep != nil {
			s.OnStep(rec, step)
		}
	}
	out, err := m.Run(ctx, input, asl.Options{
		Tasks: s.Tasks, Clock: s.Clock, Tokens: s.Tokens, Observer: observe, ExecutionName: rec.ID,
	})
	mu.Lock()
	defer mu.Unlock()
	rec.Stopped = time.Now()
	rec.Output = out
	var aerr *asl.Error
	switch {
	case err == nil:
		rec.Status = execution.Succeeded
	case errors.As(err, &aerr):
		rec.Status, rec.Error, rec.Cause = execution.Failed, aerr.Name, aerr.Cause
		if aerr.Name == "States.Timeout" {
			rec.Status = execution.TimedOut
		}
	default:
		rec.Status, rec.Error, rec.Cause = execution.Failed, "Medic.InternalError", err.Error()
	}
	step := execution.Step{Time: rec.Stopped, Kind: "outcome", Name: string(rec.Status), Detail: outcomeDetail(rec)}
	rec.Timeline = append(rec.Timeline, step)
	s.save(rec)
	if s.OnStep != nil {
		s.OnStep(rec, step)
	}
	if s.OnDone != nil {
		s.OnDone(rec)
	}
}

func (s *LocalStarter) save(rec *execution.Record) {
	if err := s.Store.Put(rec); err != nil && s.Log != nil {
		s.Log.Error("saving execution failed", "execution", rec.ID, "err", err)
	}
}

func outcomeDetail(rec *execution.Record) string {
	if rec.Error != "" {
		return rec.Error + ": " + rec.Cause
	}
	return "workflow succeeded"
}

// timelineKinds are the interpreter events a person reading the timeline
// needs, and what each is called there.
var timelineKinds = map[string]string{
	asl.StateEntered:  "state",
	asl.TaskSucceeded: "task",
	asl.TaskFailed:    "task",
	asl.StateRetried:  "retry",
	asl.StateCaught:   "caught",
}

// stepFor turns an interpreter event into a timeline step, if it is one.
func stepFor(ev asl.Event) (execution.Step, bool) {
	kind, ok := timelineKinds[ev.Type]
	if !ok {
		return execution.Step{}, false
	}
	step := execution.Step{Time: ev.Time, Kind: kind, Name: ev.State}
	switch {
	case ev.Error != nil:
		step.Detail = ev.Error.Name + ": " + ev.Error.Cause
	case ev.Type == asl.TaskSucceeded:
		step.Detail = summarise(ev.Output)
	}
	return step, true
}

// summarise shows what matters in a task result: a command's status and
// output when there is one, else compact JSON.
func summarise(v any) string {
	if m, ok := v.(map[string]any); ok {
		if cmd, ok := m["Command"].(map[string]any); ok {
			return fmt.Sprintf("command %v sent to %v", cmd["CommandId"], cmd["InstanceIds"])
		}
		if status, ok := m["Status"].(string); ok {
			out := strings.TrimSpace(fmt.Sprint(m["StandardOutputContent"]))
			errOut := strings.TrimSpace(fmt.Sprint(m["StandardErrorContent"]))
			s := fmt.Sprintf("%s (exit %v)", status, m["ResponseCode"])
			if out != "" && out != "<nil>" {
				s += "\n" + out
			}
			if errOut != "" && errOut != "<nil>" {
				s += "\nstderr: " + errOut
			}
			return s
		}
	}
	b, _ := json.Marshal(v)
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
