package workflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/execution"
)

const testMachine = `{
  "StartAt": "Ask",
  "States": {
    "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${Approval}", "Payload": {"t.$": "$$.Task.Token"}}, "Next": "Think"},
    "Think": {"Type": "Wait", "Seconds": 1, "Next": "Tell"},
    "Tell": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Parameters": {"FunctionName": "${Notify}"}, "Next": "Act"},
    "Act": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ssm:sendCommand", "Parameters": {}, "Next": "Fan"},
    "Fan": {"Type": "Parallel", "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "End": true}}}], "End": true}
  }
}`

func testStarter(t *testing.T) *LocalStarter {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.asl.json"), []byte(testMachine), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := LoadLibrary(dir, map[string]string{"Approval": "approve-fn", "Notify": "notify-fn"})
	if err != nil {
		t.Fatal(err)
	}
	return &LocalStarter{Library: lib, ReplaySafeFunctions: []string{"approve-fn", "notify-fn"}}
}

func entering(states ...string) *execution.Record {
	rec := &execution.Record{ID: "x", StateMachine: "m"}
	for _, s := range states {
		rec.Timeline = append(rec.Timeline, execution.Step{Kind: "state", Name: s})
	}
	return rec
}

// Only runs whose every entered state repeats nothing that matters may be
// run again: asking, waiting and telling are; a command, a Parallel (whose
// inner states are not checked), a state the machine does not have, or a
// machine no longer loaded are not.
func TestReplayable(t *testing.T) {
	s := testStarter(t)
	for _, states := range [][]string{{}, {"Ask"}, {"Ask", "Think", "Tell"}} {
		if ok, why := s.Replayable(entering(states...)); !ok {
			t.Errorf("%v: not replayable: %s", states, why)
		}
	}
	for _, states := range [][]string{{"Ask", "Think", "Tell", "Act"}, {"Fan"}, {"In"}, {"../../etc"}} {
		ok, why := s.Replayable(entering(states...))
		if ok || !strings.Contains(why, states[len(states)-1]) {
			t.Errorf("%v: replayable %v (%s)", states, ok, why)
		}
	}
	gone := entering("Ask")
	gone.StateMachine = "deleted"
	if ok, _ := s.Replayable(gone); ok {
		t.Error("a machine no longer loaded is replayable")
	}
	// A function not named safe is not.
	s.ReplaySafeFunctions = []string{"approve-fn"}
	if ok, _ := s.Replayable(entering("Ask", "Think", "Tell")); ok {
		t.Error("an unlisted function was taken as safe")
	}
}

// Quiesce waits for busy runs but not for one waiting on an approval.
func TestQuiesceDoesNotWaitForApprovals(t *testing.T) {
	s := testStarter(t)
	s.track("waiting", position{machine: "m", state: "Ask"})
	s.track("acting", position{machine: "m", state: "Act"})
	ctx, cancel := contextWithTimeout(50)
	defer cancel()
	if busy := s.Quiesce(ctx); len(busy) != 1 || busy[0] != "acting" {
		t.Fatalf("busy = %v", busy)
	}
	s.untrack("acting")
	ctx2, cancel2 := contextWithTimeout(1000)
	defer cancel2()
	if busy := s.Quiesce(ctx2); len(busy) != 0 {
		t.Fatalf("busy = %v", busy)
	}
}

// Owners: no owner and a dead local pid are orphans; a live pid, and any
// owner on another host, are not.
func TestOwnerAlive(t *testing.T) {
	host, _ := os.Hostname()
	cases := map[string]bool{
		"":                        false,
		Owner():                   true,
		host + ":0":               false,
		host + ":-5":              false,
		host + ":notapid":         false,
		host + ":2147483646":      false,
		"another-host.example:12": true,
	}
	for owner, want := range cases {
		if got := ownerAlive(owner); got != want {
			t.Errorf("ownerAlive(%q) = %v, want %v", owner, got, want)
		}
	}
}

func contextWithTimeout(ms int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
}
