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
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/target"
)

// `medic serve` resolves a Prometheus instance label against the fleet
// file's addresses, and localhost to the machine it runs commands on.
func TestServeResolvesInstancesFromTheFleetFile(t *testing.T) {
	stateDir := t.TempDir()
	fleet := "instances:\n  - id: i-0web1\n    private_ip: 10.0.1.5\n    private_dns: ip-10-0-1-5.ec2.internal\n" +
		"    tags: {medic:depends-on: i-0db1}\n  - id: i-0db1\n    private_ip: 10.0.2.9\n"
	if err := os.WriteFile(filepath.Join(stateDir, "fleet.yaml"), []byte(fleet), 0o644); err != nil {
		t.Fatal(err)
	}
	local, err := NewLocal(LocalConfig{
		PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: stateDir, PollSeconds: 1, Out: &bytes.Buffer{}, Clock: asl.NewVirtualClock(time.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]string{"10.0.1.5:9100": "i-0web1", "ip-10-0-1-5.ec2.internal:9100": "i-0web1",
		"localhost:9100": target.LocalTarget} {
		a, err := target.ParseAddress(label)
		if err != nil {
			t.Fatal(err)
		}
		got, err := local.Engine.Targets.Resolve(context.Background(), a)
		if err != nil || got.InstanceID != want {
			t.Errorf("%s: %+v %v; want %s", label, got, err, want)
		}
	}
	a, _ := target.ParseAddress("10.0.1.5")
	if got, _ := local.Engine.Targets.Resolve(context.Background(), a); len(got.DependsOn) != 1 || got.DependsOn[0] != "i-0db1" {
		t.Errorf("the fleet's medic:depends-on tag: %+v", got)
	}
}

// A late symptom is shown under the root's execution on the console (the
// local stand-in for its Slack thread).
func TestServeShowsALateSymptomUnderTheRootsExecution(t *testing.T) {
	var out bytes.Buffer
	local, err := NewLocal(LocalConfig{
		PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: t.TempDir(), PollSeconds: 1, Out: &out, Clock: asl.NewVirtualClock(time.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	root := &execution.Record{ID: "linux-free_disk_on_alarm-root", Started: time.Now()}
	if err := local.Executions.Create(root); err != nil {
		t.Fatal(err)
	}
	step := execution.Step{Time: time.Now(), Kind: "symptom", Name: "SystemdUnitFailed on 10.0.1.5:9100 (fp)", Detail: "held: symptom of disk-full"}
	local.Engine.Annotate(context.Background(), root.ID, step)
	local.Engine.Annotate(context.Background(), "no-such-execution", step)
	if got := out.String(); !strings.Contains(got, "execution "+root.ID) || !strings.Contains(got, "SystemdUnitFailed on 10.0.1.5:9100") ||
		strings.Contains(got, "no-such-execution") {
		t.Fatalf("console:\n%s", got)
	}
}
