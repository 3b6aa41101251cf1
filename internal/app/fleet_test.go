package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/execution"
)

// The aws_ec2 pack runs locally against the simulated fleet seeded from
// the state directory's fleet.yaml: the reboot heals an impaired instance.
func TestAWSActionsRunAgainstTheLocalFleet(t *testing.T) {
	stateDir := t.TempDir()
	fleet := "instances:\n  - id: i-0web1\n    instance_status: impaired\n"
	if err := os.WriteFile(filepath.Join(stateDir, "fleet.yaml"), []byte(fleet), 0o644); err != nil {
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
		Name: "reboot-1", Action: "aws_ec2.reboot_instance", Params: map[string]any{"instance_id": "i-0web1"}})
	if err != nil {
		t.Fatal(err)
	}
	local.Starter.Wait()
	got, err := local.Executions.Get(rec.ID)
	if err != nil || got.Status != execution.Succeeded {
		t.Fatalf("reboot on the local fleet: %+v %v\n%s", got, err, out.String())
	}
}
