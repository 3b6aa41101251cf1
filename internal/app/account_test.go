package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
)

// The AWS-services packs run locally against the simulated account seeded
// from the state directory's account.yaml: the evidence is read from it.
func TestAWSServiceEvidenceFromTheLocalAccount(t *testing.T) {
	stateDir := t.TempDir()
	account := "lambda_functions:\n  - {name: resize, runtime: nodejs20.x, timeout: 30, memory: 512}\n"
	if err := os.WriteFile(filepath.Join(stateDir, "account.yaml"), []byte(account), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	local, err := NewLocal(LocalConfig{
		PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: stateDir, PollSeconds: 1, Out: &out, Clock: asl.NewVirtualClock(time.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := local.Engine.StartAction(context.Background(), engine.Run{
		Name: "evidence-1", Action: "aws_lambda.escalate_with_evidence", Params: map[string]any{"alarm_name": "resize-errors",
			"namespace": "AWS/Lambda", "metric_name": "Errors", "dimensions": map[string]any{"FunctionName": "resize"},
			"region": "us-east-1", "account": "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	local.Starter.Wait()
	got, err := local.Executions.Get(rec.ID)
	if err != nil || got.Status != execution.Succeeded || !strings.Contains(out.String(), "nodejs20.x") {
		t.Fatalf("evidence from the local account: %+v %v\n%s", got, err, out.String())
	}
}

// A broken account file stops start-up, naming the file and the field.
func TestBadAccountFileIsRefused(t *testing.T) {
	stateDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(stateDir, "account.yaml"), []byte("lambda_functions:\n  - {name: 'bad name'}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewLocal(LocalConfig{PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: stateDir, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "account.yaml") || !strings.Contains(err.Error(), "lambda_functions[0].name") {
		t.Fatalf("err %v", err)
	}
}
