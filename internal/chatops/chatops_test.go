package chatops

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/slack/verify"
)

func TestForgedStaleAndReplayedRequestsAreRefusedAndCounted(t *testing.T) {
	e := newEnv(t)
	body := commandBody("U_OK", "C_OPS", "help")
	now := time.Now().Unix()
	sig := verify.Sign(signingSecret, now, []byte(body))
	for _, tc := range []struct {
		name string
		ts   int64
		sig  string
		want int
	}{
		{"authentic", now, sig, http.StatusOK},
		{"replayed", now, sig, http.StatusUnauthorized},
		{"forged", now, verify.Sign("guess", now, []byte(body)), http.StatusUnauthorized},
		{"stale", now - 600, "", http.StatusUnauthorized},
	} {
		resp := e.post("/slack/commands", body, tc.ts, tc.sig)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	e.h.Wait()
	if n := len(e.replies.all()); n != 1 {
		t.Errorf("%d commands ran, want only the authentic one", n)
	}
	resp, err := http.Get(e.srv.URL + "/slack/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c verify.Counters
	json.NewDecoder(resp.Body).Decode(&c)
	if c != (verify.Counters{Accepted: 1, Replayed: 1, Forged: 1, Stale: 1}) {
		t.Errorf("counters = %+v", c)
	}
	if !strings.Contains(e.logs.String(), "slack request refused") {
		t.Errorf("refusals not logged:\n%s", e.logs)
	}
}

func TestAcknowledgesBeforeTheWorkIsDone(t *testing.T) {
	e := newEnv(t)
	e.starter.block = make(chan struct{})
	start := time.Now()
	resp := e.post("/slack/commands", commandBody("U_OK", "C_OPS", "restart nginx on web1"), time.Now().Unix(), "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("ack took %s", took)
	}
	if !strings.Contains(string(body), `"response_type":"ephemeral"`) || !strings.Contains(string(body), "On it") {
		t.Errorf("ack = %s", body)
	}
	if len(e.replies.all()) != 0 {
		t.Error("answered before the work was done")
	}
	close(e.starter.block)
	e.h.Wait()
	if len(e.replies.all()) != 1 {
		t.Fatal("no answer after the work")
	}
}

func TestHelpListsEveryAliasFormat(t *testing.T) {
	e := newEnv(t)
	got := e.command("U_ANY", "C_ANY", "help").text()
	for _, want := range []string{"/medic restart {{service}} on {{target}}", "/medic bounce &lt;service&gt; on &lt;target&gt; [attempts]", "ops.restart", "/medic silence add &lt;label&gt;"} {
		if !strings.Contains(got, want) {
			t.Errorf("help lacks %q:\n%s", want, got)
		}
	}
}

func TestRunThroughAliasFormats(t *testing.T) {
	e := newEnv(t)
	r := e.command("U_OK", "C_OPS", "restart nginx on web1 ratio=0.5")
	// The alias's ack format, rendered with st2's names, and append_url.
	if r.Msg.ResponseType != "in_channel" || !strings.Contains(r.text(), "Restarting nginx on web1 (ops.restart)\n`/medic status chatops-ops-restart-") {
		t.Fatalf("reply = %s", r.text())
	}
	e.command("U_OK", "C_OPS", "bounce app on web2")
	if len(e.starter.runs) < 2 {
		t.Fatalf("%d runs", len(e.starter.runs))
	}
	first, second := e.starter.runs[0].Rec, e.starter.runs[1].Rec
	if first.Params["service"] != "nginx" || first.Params["target"] != "web1" || first.Params["ratio"] != 0.5 || first.Params["force"] != true {
		t.Errorf("params = %v", first.Params)
	}
	if second.Params["attempts"] != 3 || second.Params["service"] != "app" {
		t.Errorf("default not applied: %v", second.Params)
	}
	if first.Trigger.Type != TriggerType || first.Trigger.Payload["user"] != "U_OK" || first.StateMachine != "diagnose-remediate-verify" {
		t.Errorf("record = %+v", first)
	}
	if first.ID != ExecutionName("ops.restart", first.Trigger.ID) || first.Timeline[0].Kind != "alert" ||
		first.Timeline[0].Name != "/medic restart nginx on web1 ratio=0.5" || !strings.Contains(first.Timeline[0].Detail, "U_OK") {
		t.Errorf("name/origin = %s %+v", first.ID, first.Timeline)
	}
	// An alias without an ack format gets Medic's own line.
	if r := e.command("U_OK", "C_OPS", "carefully restart nginx"); !strings.Contains(r.text(), "started `ops.careful_restart`") {
		t.Errorf("default ack = %s", r.text())
	}
	if !strings.Contains(r.text(), first.ID) {
		t.Errorf("reply lacks the execution id %s", first.ID)
	}
}

func TestRunRefusalsAreExplained(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ user, channel, text, want string }{
		{"U_NO", "C_OPS", "restart nginx on web1", "<@U_NO> may not run action ops.restart"},
		{"U_OK", "C_ELSE", "restart nginx on web1", "name other users, groups or channels"},
		{"U_OK", "C_OPS", "restart apache on web1", `"apache" is not one of`},
		{"U_OK", "C_OPS", "restart nginx on web1 remediate=rm", `"remediate" is immutable`},
		{"U_OK", "C_OPS", "reboot the world", "No command or alias matches"},
		{"U_OK", "C_OPS", "status", "usage: /medic status"},
	} {
		r := e.command(tc.user, tc.channel, tc.text)
		if r.Msg.ResponseType != "ephemeral" || !strings.Contains(r.text(), tc.want) {
			t.Errorf("%s %q: reply %s, want %q", tc.user, tc.text, r.text(), tc.want)
		}
	}
	if len(e.starter.runs) != 0 {
		t.Errorf("refused commands started %d runs", len(e.starter.runs))
	}
}

func TestStatusAndAlerts(t *testing.T) {
	e := newEnv(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &execution.Record{ID: "ops-rule-abc", Rule: "ops.on_alarm", Action: "ops.restart", StateMachine: "diagnose-remediate-verify",
		Status: execution.Failed, Started: t0, Stopped: t0.Add(time.Minute), Error: "Medic.RemediationFailed"}
	rec.Add(t0, "alert", "HighDisk", "ALARM")
	rec.Add(t0, "task", "Remediate", "Failed (exit 1)")
	e.h.Executions = memExecutions{rec.ID: rec}
	got := e.command("U_ANY", "C_ANY", "status ops-rule-abc").text()
	for _, want := range []string{"is *FAILED*", "Remediate", "Failed (exit 1)"} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q: %s", want, got)
		}
	}
	if got := e.command("U_ANY", "C_ANY", "status nope").text(); !strings.Contains(got, "No execution `nope`") {
		t.Errorf("unknown status: %s", got)
	}
	if got := e.command("U_ANY", "C_ANY", "alerts").text(); !strings.Contains(got, "HighDisk") || !strings.Contains(got, "ops-rule-abc") {
		t.Errorf("alerts: %s", got)
	}
}

// Silences added in chat are the consolidator's own: the store it
// applies sees them, with Alertmanager matchers, and sees them expire.
func TestSilencesAreTheConsolidatorsSilences(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	applied := (&dispatch.Consolidator{State: e.state}).Silences()
	labels := map[string]string{"alertname": "HighDisk", "host": "web1", "env": "staging"}
	r := e.command("U_OK", "C_OPS", "silence add alertname=~High.* host=web1 env!=prod for 2h disk swap")
	if r.Msg.ResponseType != "in_channel" || !strings.Contains(r.text(), "`alertname=~&#34;High.*&#34;`") && !strings.Contains(r.text(), "`alertname=~\"High.*\"` `host=\"web1\"` `env!=\"prod\"` for 2h0m0s") {
		t.Fatalf("add: %s", r.text())
	}
	s, err := applied.Match(ctx, labels)
	if err != nil || s == nil {
		t.Fatalf("the consolidator does not apply the chat silence: %v %v", s, err)
	}
	if s.CreatedBy != "U_OK" || s.Comment != "disk swap" || s.EndsAt.Sub(s.StartsAt) != 2*time.Hour {
		t.Errorf("silence = %+v", s)
	}
	if other, _ := applied.Match(ctx, map[string]string{"alertname": "HighDisk", "host": "web1", "env": "prod"}); other != nil {
		t.Error("env!=prod matched prod")
	}
	if got := e.command("U_ANY", "C_ANY", "silence list").text(); !strings.Contains(got, s.ID) || !strings.Contains(got, "active") {
		t.Errorf("list: %s", got)
	}
	if got := e.command("U_NO", "C_OPS", "silence expire "+s.ID).text(); !strings.Contains(got, "may not silence silences") {
		t.Errorf("refusal: %s", got)
	}
	if got := e.command("U_OK", "C_OPS", "silence add host=web1 for 1h").text(); !strings.Contains(got, "say why") {
		t.Errorf("no reason: %s", got)
	}
	if got := e.command("U_OK", "C_OPS", "silence expire "+s.ID).text(); !strings.Contains(got, "expired silence") {
		t.Errorf("expire: %s", got)
	}
	if m, _ := applied.Match(ctx, labels); m != nil {
		t.Errorf("still silenced after expiry: %+v", m)
	}
	if got := e.command("U_ANY", "C_ANY", "silence list").text(); !strings.Contains(got, "No active silences") {
		t.Errorf("list after expiry: %s", got)
	}
	if got := e.command("U_OK", "C_OPS", "silence expire nope").text(); !strings.Contains(got, "silence not found") {
		t.Errorf("unknown id: %s", got)
	}
	e.h.Silences = nil
	if got := e.command("U_OK", "C_OPS", "silence list").text(); !strings.Contains(got, "not available") {
		t.Errorf("without silences: %s", got)
	}
}
