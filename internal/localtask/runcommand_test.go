package localtask_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/workflow"
)

// run-command.asl.json against the local SSM: real local processes, a
// virtual clock for the Wait states.

type ssmRun struct {
	h        *localtask.Handler
	mu       sync.Mutex
	notified []map[string]any
	calls    map[string]int
}

func newSSMRun(t *testing.T) *ssmRun {
	r := &ssmRun{calls: map[string]int{}}
	r.h = &localtask.Handler{SSM: &localtask.SSM{Dir: t.TempDir()}, Functions: map[string]localtask.Function{
		"medic-notify": func(_ context.Context, p any) (any, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.notified = append(r.notified, p.(map[string]any))
			return nil, nil
		},
	}}
	return r
}

func (r *ssmRun) Invoke(ctx context.Context, req asl.TaskRequest) (any, error) {
	r.mu.Lock()
	r.calls[req.Resource[strings.LastIndex(req.Resource, ":")+1:]]++
	r.mu.Unlock()
	return r.h.Invoke(ctx, req)
}

// settle is a virtual clock whose sleeps first give local commands a
// moment of real time, so quick commands end between two polls. A sleep
// of a day or more is a task's default timeout (99999999 s): it never
// fires, so a task slowed by a busy machine is not timed out in virtual
// time.
type settle struct{ *asl.VirtualClock }

func (c settle) Sleep(ctx context.Context, d time.Duration) error {
	if d >= 24*time.Hour {
		<-ctx.Done()
		return ctx.Err()
	}
	time.Sleep(5 * time.Millisecond)
	return c.VirtualClock.Sleep(ctx, d)
}

func (r *ssmRun) run(t *testing.T, input map[string]any) (map[string]any, error) {
	t.Helper()
	lib, err := workflow.LoadLibrary("../../statemachines", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := lib.Machine("run-command")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := m.Run(ctx, input, asl.Options{Tasks: r, Clock: settle{asl.NewVirtualClock(time.Unix(0, 0))}, ExecutionName: "test"})
	res, _ := out.(map[string]any)
	return res, err
}

func sendInput(script string, targets []any, extra map[string]any) map[string]any {
	in := map[string]any{
		"run": map[string]any{
			"commands": []any{script}, "instance_ids": targets, "execution_timeout": 60.0,
		},
		"poll_seconds": 5.0,
		"notify":       map[string]any{"action": "test.run"},
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func TestRunCommandFollowsEveryPageOf120Targets(t *testing.T) {
	var targets []any
	for i := range 120 {
		targets = append(targets, fmt.Sprintf("host-%03d", i))
	}
	r := newSSMRun(t)
	out, err := r.run(t, sendInput(`echo "ran"`, targets, nil))
	if err != nil {
		t.Fatalf("%v; last notice %v", err, r.notified)
	}
	results := out["results"].([]any)
	seen := map[string]bool{}
	for _, res := range results {
		res := res.(map[string]any)
		inv := res["invocation"].(map[string]any)
		if res["ok"] != true || inv["StandardOutputContent"] != "ran\n" {
			t.Fatalf("result %v", res)
		}
		seen[res["instance_id"].(string)] = true
	}
	if len(results) != 120 || len(seen) != 120 {
		t.Fatalf("%d results for %d distinct targets", len(results), len(seen))
	}
	if got := r.calls["listCommandInvocations"]; got != 3 {
		t.Fatalf("%d listings, want 3 pages of at most 50", got)
	}
}

func TestRunCommandCancelsWhatOutlivesItsPollBudget(t *testing.T) {
	r := newSSMRun(t)
	marker := t.TempDir() + "/finished"
	start := time.Now()
	_, err := r.run(t, sendInput("sleep 20; touch "+marker, []any{"localhost"}, map[string]any{"max_polls": 2.0}))
	assertAslError(t, err, "Medic.CommandFailed")
	if time.Since(start) > 10*time.Second {
		t.Fatalf("the run waited for the command (%s)", time.Since(start))
	}
	n := r.notified[len(r.notified)-1]
	res := n["results"].([]any)[0].(map[string]any)
	if res["cancelled"] != true || res["ok"] != false || r.calls["cancelCommand"] != 1 {
		t.Fatalf("result %v after %v", res, r.calls)
	}
	// The local process is gone: it never reaches its touch.
	cmdID := n["command_id"].(string)
	r.h.SSM.Wait(cmdID)
	inv, err := r.h.Invoke(context.Background(), asl.TaskRequest{Resource: localtask.ResourceGetCommandInvocation, Input: map[string]any{"CommandId": cmdID, "InstanceId": "localhost"}})
	if err != nil || inv.(map[string]any)["Status"] != "Cancelled" {
		t.Fatalf("after the cancel: %v %v", inv, err)
	}
}

func TestRunCommandCancelsWhenNoTargetShowsUp(t *testing.T) {
	r := newSSMRun(t)
	h := asl.TaskHandlerFunc(func(ctx context.Context, req asl.TaskRequest) (any, error) {
		if req.Resource == localtask.ResourceListCommandInvocations {
			return map[string]any{"CommandInvocations": []any{}}, nil // tags that never resolve
		}
		return r.Invoke(ctx, req)
	})
	lib, err := workflow.LoadLibrary("../../statemachines", subs)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := lib.Machine("run-command")
	_, err = m.Run(context.Background(), sendInput("true", []any{"localhost"}, nil), asl.Options{Tasks: h, Clock: asl.NewVirtualClock(time.Unix(0, 0))})
	assertAslError(t, err, "Medic.NoTargets")
	if r.calls["cancelCommand"] != 1 {
		t.Fatalf("calls %v", r.calls)
	}
}

func assertAslError(t *testing.T, err error, name string) {
	t.Helper()
	wantError(t, err, name)
}
