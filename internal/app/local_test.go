package app

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/demo"
	"github.com/medic-sre/medic/internal/execution"
)

// repo is the repository root, seen from this package's directory.
const repo = "../.."

func newLocal(t *testing.T, out *bytes.Buffer) (*Local, string) {
	t.Helper()
	local, err := NewLocal(LocalConfig{
		PacksDir:    filepath.Join(repo, "packs"),
		MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir:    t.TempDir(),
		PollSeconds: 1,
		Out:         out,
	})
	if err != nil {
		t.Fatal(err)
	}
	return local, httptestServer(t, local)
}

func httptestServer(t *testing.T, local *Local) string {
	srv := httptest.NewServer(local.Server.Routes())
	t.Cleanup(srv.Close)
	return srv.URL
}

// The walking skeleton end to end: a real scratch directory fills up, the
// CloudWatch alarm event is posted over HTTP, the linux pack's rule matches,
// the diagnose-remediate-verify state machine runs real commands, and the
// directory is checked independently afterwards.
func TestDemoSceneHealsTheDisk(t *testing.T) {
	var out bytes.Buffer
	local, url := newLocal(t, &out)
	scene := demo.DefaultScene(repo, &out)
	scene.Dir = filepath.Join(t.TempDir(), "scratch")
	scene.APIToken = local.Server.APIToken
	if err := scene.Play(url, time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	local.Starter.Wait()

	recs, err := local.Executions.List()
	if err != nil || len(recs) != 1 {
		t.Fatalf("executions: %v %v", recs, err)
	}
	rec := recs[0]
	if rec.Status != execution.Succeeded || rec.Rule != "linux.free_disk_on_alarm" {
		t.Fatalf("record: %+v", rec)
	}
	var timeline bytes.Buffer
	execution.Render(&timeline, rec)
	for _, want := range []string{"alert", "medic-demo-disk-full", "rule", "Diagnose", "Remediate", "Verify", "Healed", "SUCCEEDED"} {
		if !strings.Contains(timeline.String(), want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline.String())
		}
	}
}

// A redelivered alert (same event id) must not start a second remediation.
func TestRedeliveryStartsNothingNew(t *testing.T) {
	var out bytes.Buffer
	local, url := newLocal(t, &out)
	scene := demo.DefaultScene(repo, &out)
	scene.Dir = filepath.Join(t.TempDir(), "scratch")
	scene.APIToken = local.Server.APIToken
	if err := scene.Play(url, time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	body, _ := scene.Event()
	resp, err := httpPost(url+"/v1/events", body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, `"duplicate": true`) {
		t.Fatalf("redelivery not reported as duplicate: %s", resp)
	}
	local.Starter.Wait()
	if recs, _ := local.Executions.List(); len(recs) != 1 {
		t.Fatalf("%d executions, want 1", len(recs))
	}
}

func TestMalformedEventIsRefusedWithReason(t *testing.T) {
	var out bytes.Buffer
	_, url := newLocal(t, &out)
	resp, err := httpPost(url+"/v1/events", []byte(`{"detail-type": 5`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, `"error"`) {
		t.Fatalf("no error reported: %s", resp)
	}
}
