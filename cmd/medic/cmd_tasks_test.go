package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/app"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/server/apitoken"
)

// `medic tasks` talks to a running serve with the token of its state
// directory: it lists the waiting approval and approves it as the local
// operator; a wrong MEDIC_API_TOKEN or a missing token file is told.
func TestTasksCommandAgainstARunningServe(t *testing.T) {
	state := t.TempDir()
	local, err := app.NewLocal(app.LocalConfig{PacksDir: "../../packs", MachinesDir: "../../statemachines", StateDir: state, PollSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(local.Server.Routes())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	rec, _, err := local.Engine.StartAction(context.Background(), engine.Run{Name: "ask-1", Action: "core.ask", Params: map[string]any{"question": "reboot?"}})
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for deadline := time.Now().Add(20 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, out, errOut := run(t, "tasks", "list", "--addr", addr, "--state", state)
		if code != 0 {
			t.Fatalf("list: %d %s", code, errOut)
		}
		if strings.Contains(out, rec.ID) {
			line = out
		}
	}
	if !strings.Contains(line, "approval of core.ask") {
		t.Fatalf("list: %q", line)
	}
	token := strings.Fields(line)[0]

	t.Setenv(apitoken.EnvVar, strings.Repeat("0", 64))
	if code, _, errOut := run(t, "tasks", "approve", token, "--addr", addr, "--state", state); code != 1 || !strings.Contains(errOut, "401") {
		t.Fatalf("wrong MEDIC_API_TOKEN: %d %s", code, errOut)
	}
	t.Setenv(apitoken.EnvVar, "")
	if code, _, errOut := run(t, "tasks", "list", "--addr", addr, "--state", t.TempDir()); code != 1 || !strings.Contains(errOut, "api-token") {
		t.Fatalf("no token file: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "tasks", "approve", token, "--as", "U0SOMEONE", "--addr", addr, "--state", state); code != 1 || !strings.Contains(errOut, "403") {
		t.Fatalf("approving as someone without grants: %d %s", code, errOut)
	}
	code, out, errOut := run(t, "tasks", "approve", token, "--comment", "ok", "--addr", addr, "--state", state)
	if code != 0 || !strings.Contains(out, "approved by local-operator") {
		t.Fatalf("approve: %d %q %s", code, out, errOut)
	}
	local.Starter.Wait()
	if got, _ := local.Executions.Get(rec.ID); got.Status != execution.Succeeded {
		t.Fatalf("execution: %s", got.Status)
	}
	if code, _, _ := run(t, "tasks", "approve", "-x"); code != 2 {
		t.Fatal("a flag where the token goes must be a usage error")
	}
}
