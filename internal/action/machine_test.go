package action

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/workflow"
)

// testSubs maps every substitution placeholder our state machines use to a
// local function name.
var testSubs = map[string]string{
	"NotifyFunctionArn":   "medic-notify",
	"HttpFunctionArn":     "medic-http",
	"ApprovalFunctionArn": "medic-approval",
}

// harness runs plans in the interpreter against the local SSM stand-in, on
// a virtual clock (settleClock), so runs are fast and deterministic.
type harness struct {
	t        *testing.T
	libs     []*workflow.Library
	tasks    *localtask.Handler
	mu       sync.Mutex
	notified []map[string]any
	sent     []string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t}
	for _, dir := range machineDirs {
		lib, err := workflow.LoadLibrary(dir, testSubs)
		if err != nil {
			t.Fatal(err)
		}
		h.libs = append(h.libs, lib)
	}
	h.tasks = &localtask.Handler{SSM: &localtask.SSM{Dir: t.TempDir()}, Functions: map[string]localtask.Function{
		"medic-notify": func(_ context.Context, p any) (any, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notified = append(h.notified, p.(map[string]any))
			return map[string]any{"delivered": true}, nil
		},
	}}
	return h
}

// Invoke records sent commands so the clock can let them finish.
func (h *harness) Invoke(ctx context.Context, req asl.TaskRequest) (any, error) {
	out, err := h.tasks.Invoke(ctx, req)
	if err == nil && req.Resource == localtask.ResourceSendCommand {
		h.mu.Lock()
		h.sent = append(h.sent, out.(map[string]any)["Command"].(map[string]any)["CommandId"].(string))
		h.mu.Unlock()
	}
	return out, err
}

// settleClock is a virtual clock whose every sleep first lets the commands
// sent so far finish for real: a Wait state then polls a finished command,
// whatever its virtual length, and a run is as fast as its commands.
type settleClock struct {
	*asl.VirtualClock
	h *harness
}

func (c settleClock) Sleep(ctx context.Context, d time.Duration) error {
	c.h.mu.Lock()
	sent := append([]string(nil), c.h.sent...)
	c.h.mu.Unlock()
	for _, id := range sent {
		c.h.tasks.SSM.Wait(id)
	}
	return c.VirtualClock.Sleep(ctx, d)
}

// machineDirs are where state machines live.
var machineDirs = []string{"../../statemachines"}

func (h *harness) machine(name string) *asl.Machine {
	h.t.Helper()
	for _, lib := range h.libs {
		if m, ok := lib.Machine(name); ok {
			return m
		}
	}
	h.t.Fatalf("no state machine %q", name)
	return nil
}

func (h *harness) run(p Plan) (map[string]any, error) {
	h.t.Helper()
	m := h.machine(p.StateMachine)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := m.Run(ctx, p.Input, asl.Options{Tasks: h, Clock: settleClock{asl.NewVirtualClock(time.Unix(0, 0)), h}, ExecutionName: "test"})
	res, _ := out.(map[string]any)
	return res, err
}

func (h *harness) lastNotice() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.notified) == 0 {
		h.t.Fatal("nothing was notified")
	}
	return h.notified[len(h.notified)-1]
}

// invocations returns the per-instance results of a run-command output
// (or of the failed run's last notification).
func invocations(t *testing.T, results any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range results.([]any) {
		m := r.(map[string]any)
		out[m["instance_id"].(string)] = m["invocation"].(map[string]any)
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// planScript is the one script a run-command plan sends.
func planScript(p Plan) string {
	return p.Input["run"].(map[string]any)["commands"].([]any)[0].(string)
}
