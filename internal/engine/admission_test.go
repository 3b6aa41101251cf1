package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/pack"
)

// chatRun is a run of linux.free_disk on i-0abc asked for outside a rule,
// as chat and `medic run` ask.
func chatRun(name string) Run {
	return Run{Name: name, Action: "linux.free_disk", Params: map[string]any{"target": "i-0abc", "path": "/var/tmp/uploads"}}
}

func refusal(t *testing.T, err error) *RefusedError {
	t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) {
		t.Fatalf("want a refusal, got %v", err)
	}
	return r
}

func TestChatRunRefusedWhileARuleRunHoldsTheTarget(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	out := e.Handle(ctx, diskAlarm("evt-1", "ALARM")) // the rule acts on i-0abc
	if len(out) != 1 || out[0].Execution == "" {
		t.Fatalf("rule run: %+v", out)
	}
	_, _, err := e.StartAction(ctx, chatRun("chat-1"))
	if r := refusal(t, err); !strings.Contains(r.Reason, "target busy: i-0abc is being remediated by linux.free_disk_on_alarm") || r.Target != "i-0abc" {
		t.Fatalf("refusal %+v", r)
	}
	if len(st.started) != 1 {
		t.Fatalf("the refused run started: %v", st.started)
	}
	// The rule run ends: its lease is released and the chat run may act.
	if err := e.Finished(ctx, out[0].Execution, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.StartAction(ctx, chatRun("chat-2")); err != nil {
		t.Fatalf("after the rule run ended: %v", err)
	}
	// and now the rule finds the target busy with the chat run.
	_, d, err := e.Consolidator.Acquire(ctx, e.Packs.Consolidation("linux.free_disk_on_alarm"), "i-0abc")
	if err != nil || d.Act || !strings.Contains(d.Reason, "being remediated by action:linux.free_disk") {
		t.Fatalf("rule while a chat run holds the target: %+v %v", d, err)
	}
}

func TestFourthChatRunInTheWindowIsRateLimited(t *testing.T) {
	e, st, clock, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	for i, name := range []string{"chat-1", "chat-2", "chat-3"} {
		rec, _, err := e.StartAction(ctx, chatRun(name))
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		// The run ends (same path as rule runs): the lease is released.
		if err := e.Finished(ctx, rec.ID, true); err != nil {
			t.Fatal(err)
		}
		clock.t = clock.t.Add(time.Minute)
	}
	_, _, err := e.StartAction(ctx, chatRun("chat-4"))
	if r := refusal(t, err); r.Error() != "refused: rate limited: 3 runs on this target in 10m0s (limit 3)" {
		t.Fatalf("refusal: %q", r.Error())
	}
	if len(st.started) != 3 {
		t.Fatalf("%d started, want 3", len(st.started))
	}
	clock.t = clock.t.Add(10 * time.Minute)
	if _, _, err := e.StartAction(ctx, chatRun("chat-5")); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// The rule's breaker opened on the target (automation kept failing and a
// human was told): a chat run of the same action there is refused too.
func TestOpenRuleBreakerRefusesChatRun(t *testing.T) {
	e, st, _, store := consolidatingEngine(t, 0)
	ctx := context.Background()
	g := &guard.Guard{State: store, Now: e.Now}
	lim := e.Packs.Consolidation("linux.free_disk_on_alarm").WithDefaults().Guard
	for i := 0; i < lim.BreakerFailures; i++ {
		l, v, err := g.Acquire(ctx, "linux.free_disk_on_alarm", "i-0abc", guard.Limits{RatePerTarget: -1, BreakerFailures: lim.BreakerFailures, BreakerWindow: lim.BreakerWindow})
		if err != nil || !v.OK {
			t.Fatalf("failing run %d: %+v %v", i, v, err)
		}
		g.Release(ctx, *l, false)
	}
	_, _, err := e.StartAction(ctx, chatRun("chat-1"))
	if r := refusal(t, err); !strings.Contains(r.Reason, "circuit open until") || !strings.Contains(r.Reason, "rule linux.free_disk_on_alarm on i-0abc") {
		t.Fatalf("refusal %+v", r)
	}
	// Another target is not affected.
	run := chatRun("chat-2")
	run.Params["target"] = "i-other"
	if _, _, err := e.StartAction(ctx, run); err != nil || len(st.started) != 1 {
		t.Fatalf("another target: %v (%d started)", err, len(st.started))
	}
}

// Chat runs fail thrice: the action's own breaker on the target opens.
func TestFailingChatRunsOpenTheirOwnBreaker(t *testing.T) {
	e, _, clock, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	for i, name := range []string{"chat-1", "chat-2", "chat-3"} {
		rec, _, err := e.StartAction(ctx, chatRun(name))
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		e.Finished(ctx, rec.ID, false)
		clock.t = clock.t.Add(11 * time.Minute) // out of the rate window, inside the breaker's hour
	}
	_, _, err := e.StartAction(ctx, chatRun("chat-4"))
	if r := refusal(t, err); !strings.Contains(r.Reason, "circuit open") {
		t.Fatalf("refusal %+v", r)
	}
}

// A retried request for the same run (same name) is not refused as busy
// by its own lease: it reaches the starter, which finds the execution.
func TestRetriedChatRunFindsTheFirst(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	if _, _, err := e.StartAction(ctx, chatRun("chat-1")); err != nil {
		t.Fatal(err)
	}
	rec, dup, err := e.StartAction(ctx, chatRun("chat-1"))
	if err != nil || !dup || rec.ID != "chat-1" || len(st.started) != 1 {
		t.Fatalf("retry: dup %v err %v, %d started", dup, err, len(st.started))
	}
	// The first run still holds the target until it ends.
	if _, _, err := e.StartAction(ctx, chatRun("chat-2")); refusal(t, err).Target != "i-0abc" {
		t.Fatal("lease lost by the retry")
	}
}

// A start that fails gives the leases back without counting a run.
func TestFailedChatStartGivesTheTargetBack(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 4)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if _, _, err := e.StartAction(ctx, chatRun("chat-x")); err == nil || errors.As(err, new(*RefusedError)) {
			t.Fatalf("start %d: want the starter's error, got %v", i, err)
		}
	}
	if _, _, err := e.StartAction(ctx, chatRun("chat-x")); err != nil || len(st.started) != 1 {
		t.Fatalf("failed starts were counted or kept the lease: %v", err)
	}
}

func TestRunTargets(t *testing.T) {
	local := &pack.Action{Ref: "core.local", RunnerType: "local-shell-cmd"}
	notify := &pack.Action{Ref: "core.notify", RunnerType: "workflow"}
	for _, tc := range []struct {
		a      *pack.Action
		params map[string]any
		want   []string
	}{
		{local, map[string]any{"cmd": "uptime"}, []string{"localhost"}},
		{local, map[string]any{"hosts": " web2, web1,,web2"}, []string{"web1", "web2"}},
		{local, map[string]any{"instance_ids": []any{"i-2", "i-1"}, "target": "i-3"}, []string{"i-1", "i-2", "i-3"}},
		{notify, map[string]any{"message": "<!channel> hi"}, []string{"action:core.notify"}},
		{notify, map[string]any{"group": "web-asg"}, []string{"web-asg"}},
		{local, map[string]any{"targets": "tag:Role=web,api"}, []string{"tag:Role=web,api"}},
		// A hostile value is a target name like any other: it is leased
		// and limited, never interpreted.
		{notify, map[string]any{"target": "--host=evil.example"}, []string{"--host=evil.example"}},
	} {
		if got := RunTargets(tc.a, tc.params); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v: targets %v, want %v", tc.a.Ref, tc.params, got, tc.want)
		}
	}
}

// Hostile target lists are refused before the guard is asked: each target
// would be a lease and a key in the table.
func TestTooManyOrTooLongTargetsAreRefused(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("h%d", i)
	}
	for name, params := range map[string]map[string]any{
		"51 hosts":      {"cmd": "uptime", "hosts": strings.Join(many, ",")},
		"a long target": {"cmd": "uptime", "hosts": strings.Repeat("h", 257)},
	} {
		_, _, err := e.StartAction(ctx, Run{Name: "run-" + strings.ReplaceAll(name, " ", "-"), Action: "core.remote", Params: params})
		if r := refusal(t, err); !strings.Contains(r.Reason, "limit") {
			t.Errorf("%s: %v", name, r)
		}
	}
	if len(st.started) != 0 {
		t.Fatalf("%d started", len(st.started))
	}
}

// Telling a human that the guard stopped automation is never refused by
// the guard: escalations are admitted runs.
func TestEscalationsAreNotRateLimited(t *testing.T) {
	e, st, _, _ := consolidatingEngine(t, 0)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		d := dispatch.Decision{Target: fmt.Sprintf("i-%d", i), Reason: "circuit open"}
		if id := e.escalate(ctx, "linux.free_disk_on_alarm", diskAlarm("evt", "ALARM"), d); id == "" {
			t.Fatalf("escalation %d not sent", i)
		}
	}
	if len(st.started) != 5 {
		t.Fatalf("%d escalations started", len(st.started))
	}
}
