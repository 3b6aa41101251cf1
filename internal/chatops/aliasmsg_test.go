package chatops

import (
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/trigger"
)

func chatRecord(status execution.Status) *execution.Record {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &execution.Record{
		ID: ExecutionName("ops.restart", "t1"), Action: "ops.restart", Status: status, Started: t0, Stopped: t0.Add(4 * time.Second),
		Params:  map[string]any{"service": "nginx", "target": "web1"},
		Trigger: trigger.Trigger{Type: TriggerType, Payload: map[string]any{"alias": "ops.restart"}},
		Output:  map[string]any{"verify": "active (running) <!here>"}, Error: "Medic.VerifyFailed",
	}
}

func TestAliasResultRendersTheOutcome(t *testing.T) {
	packs, err := pack.LoadDir("testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	r := AliasResults{Packs: packs}
	text, ok := r.Result(chatRecord(execution.Succeeded))
	if !ok || text != "nginx is back: active (running) &lt;!here&gt;" {
		t.Fatalf("succeeded: %q %v (output must be escaped)", text, ok)
	}
	if text, _ := r.Result(chatRecord(execution.Failed)); text != "restart failed: Medic.VerifyFailed" {
		t.Fatalf("failed: %q", text)
	}
	// A record rebuilt from Step Functions has no trigger: the alias is
	// recognised by the execution name.
	rebuilt := chatRecord(execution.Succeeded)
	rebuilt.Trigger = trigger.Trigger{}
	if text, ok := r.Result(rebuilt); !ok || !strings.HasPrefix(text, "nginx is back") {
		t.Fatalf("rebuilt: %q %v", text, ok)
	}
	if _, ok := r.Result(chatRecord(execution.Running)); ok {
		t.Fatal("a running execution has no result yet")
	}
	other := chatRecord(execution.Succeeded)
	other.Trigger, other.ID = trigger.Trigger{}, "linux-rule-abcdef"
	if _, ok := r.Result(other); ok {
		t.Fatal("a rule run got an alias result")
	}
	careful := chatRecord(execution.Succeeded)
	careful.Trigger.Payload["alias"] = "ops.careful_restart" // no result format
	if _, ok := r.Result(careful); ok {
		t.Fatal("an alias without a result format rendered one")
	}
}

func TestAliasFormatProblemsAreTold(t *testing.T) {
	al := &pack.Alias{Ref: "ops.x", ActionRef: "ops.x", Ack: pack.Message{Enabled: true, Format: "{{ execution.id "},
		Result: pack.Message{Enabled: true, Format: "{{ nope.deeper.still }}"}}
	h := &Handler{}
	msg := h.ack(al, chatRecord(execution.Running), request{Slash: "/medic"})
	if msg.ResponseType != "in_channel" || !strings.Contains(msg.Text, "started `ops.x`") || !strings.Contains(msg.Text, `cannot render "format" in field "ack" of alias ops.x`) {
		t.Fatalf("ack = %s", msg.Text)
	}
	al.Ack.Enabled = false
	if msg := h.ack(al, chatRecord(execution.Running), request{Slash: "/medic"}); msg.ResponseType != "ephemeral" {
		t.Fatalf("disabled ack = %+v", msg)
	}
	if _, err := renderAliasFormat(al, "result", chatRecord(execution.Succeeded)); err == nil || !strings.Contains(err.Error(), `field "result"`) {
		t.Fatalf("result: %v", err)
	}
	for status, want := range map[execution.Status]string{execution.Succeeded: "succeeded", execution.TimedOut: "timeout", execution.Aborted: "canceled", "": "requested"} {
		if got := st2Status(status); got != want {
			t.Errorf("st2Status(%s) = %s, want %s", status, got, want)
		}
	}
}
