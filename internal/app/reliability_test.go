package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/medic-sre/medic/internal/demo"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/sensor"
)

func openLocal(t *testing.T, stateDir string, out io.Writer) *Local {
	t.Helper()
	local, err := NewLocal(LocalConfig{
		PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: stateDir, PollSeconds: 1, Out: out,
	})
	if err != nil {
		t.Fatalf("start-up failed: %v", err)
	}
	return local
}

// newScene is the demo scene on a scratch dir of its own, reading back
// through local's API (with its token) when local is given.
func newScene(t *testing.T, local *Local) demo.Scene {
	scene := demo.DefaultScene(repo, io.Discard)
	if local != nil {
		scene.APIToken = local.Server.APIToken
	}
	scene.Dir = filepath.Join(t.TempDir(), "scratch")
	scene.EventID = uuid.NewString()
	return scene
}

// Every kind of local state file, truncated as a crash mid-write on a
// filesystem without atomic rename would leave it: start-up does not
// fail, each is quarantined and reported, and a new alert is remediated.
func TestDamagedStateFilesAreQuarantinedAndServingGoesOn(t *testing.T) {
	stateDir := t.TempDir()
	var out bytes.Buffer
	first := openLocal(t, stateDir, &out)
	url := httptestServer(t, first)
	if err := newScene(t, first).Play(url, time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	first.Starter.Wait()
	// Kinds the demo does not write: a silence and the datastore.
	os.MkdirAll(filepath.Join(stateDir, "consolidation", "silence"), 0o700)
	os.WriteFile(filepath.Join(stateDir, "consolidation", "silence", "s1.json"), []byte(`{"pk":"silence","sk":"s1","value":{"id":`), 0o600)
	os.MkdirAll(filepath.Join(stateDir, "kv"), 0o700)
	os.WriteFile(filepath.Join(stateDir, "kv", "kv.json"), []byte(`{"a":{"key":`), 0o600)
	damaged := 0
	for _, pattern := range []string{"executions/*.json", "consolidation/*/*.json"} {
		files, _ := filepath.Glob(filepath.Join(stateDir, pattern))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			os.WriteFile(f, data[:len(data)/2], 0o600)
			damaged++
		}
	}
	if damaged < 6 { // execution, alert, group, delivery, runs×2, silence
		t.Fatalf("only %d state files to damage", damaged)
	}

	out.Reset()
	second := openLocal(t, stateDir, &out)
	rep, err := second.Recover(context.Background())
	if err != nil {
		t.Fatalf("recovery: %v", err)
	}
	if len(rep.Quarantined) != damaged {
		t.Fatalf("quarantined %d of %d damaged files: %+v", len(rep.Quarantined), damaged, rep.Quarantined)
	}
	var report bytes.Buffer
	rep.Print(&report)
	if !strings.Contains(report.String(), "medic doctor") {
		t.Fatalf("start-up report: %q", report.String())
	}
	if recs, err := second.Executions.List(); err != nil || len(recs) != 0 {
		t.Fatalf("list after quarantine: %v, %v", recs, err)
	}
	url = httptestServer(t, second)
	if err := newScene(t, second).Play(url, time.Minute); err != nil {
		t.Fatalf("a new alert was not remediated after the damage: %v\n%s", err, out.String())
	}
	second.Starter.Wait()
	if _, _, err := second.KV.Get("anything"); err != nil {
		t.Fatalf("kv after damage: %v", err)
	}
	if list, _ := second.Quarantine.List(); len(list) != damaged+1 { // + kv.json, read just now
		t.Fatalf("quarantine holds %d, want %d", len(list), damaged+1)
	}
}

// When the state store cannot write, the delivery gets 503 and nothing is
// recorded as seen: once the store is back, the sender's retry acts.
func TestStoreThatCannotWriteAsksForRetry(t *testing.T) {
	stateDir := t.TempDir()
	var out bytes.Buffer
	local := openLocal(t, stateDir, &out)
	url := httptestServer(t, local)
	scene := newScene(t, local)
	if err := scene.Break(); err != nil {
		t.Fatal(err)
	}
	body, _ := scene.Event()
	// The alerts' partition becomes a file: every write to it fails.
	blocked := filepath.Join(stateDir, "consolidation", "alert")
	os.RemoveAll(blocked)
	os.WriteFile(blocked, nil, 0o600)
	resp, err := http.Post(url+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	os.Remove(blocked)
	resp2, err := httpPost(url+"/v1/events", body)
	if err != nil || strings.Contains(resp2, `"duplicate": true`) || !strings.Contains(resp2, `"execution"`) {
		t.Fatalf("the retry did not act: %s %v", resp2, err)
	}
	local.Starter.Wait()
	if err := scene.Check(); err != nil {
		t.Fatal(err)
	}
}

// A crash can leave a lease bound to an execution that already ended (killed
// between the record's last write and telling consolidation), or to one that
// never got a record (killed between the lease and the start). The next start
// releases both; the second is escalated, since its alert was taken in and
// nothing ran.
func TestStartReleasesLeasesACrashLeftBound(t *testing.T) {
	stateDir := t.TempDir()
	ctx := context.Background()
	first := openLocal(t, stateDir, io.Discard)
	c := first.Engine.Consolidator
	for _, target := range []string{"host-ended", "host-never-started"} {
		_, d, err := c.Acquire(ctx, dispatch.Config{Rule: "linux.free_disk_on_alarm"}, target)
		if err != nil || d.Lease == nil {
			t.Fatalf("acquire %s: %+v %v", target, d, err)
		}
		if err := c.Bind(ctx, "run-"+target, *d.Lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Executions.Create(&execution.Record{ID: "run-host-ended", Status: execution.Succeeded, Started: time.Now()}); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	second := openLocal(t, stateDir, &out)
	rep, err := second.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second.Starter.Wait()
	if leases, _ := second.State.Query(ctx, "lease", ""); len(leases) != 0 {
		t.Fatalf("leases still held: %+v", leases)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Execution != "run-host-never-started" || rep.Failed[0].Escalation == "" {
		t.Fatalf("report: %+v", rep)
	}
	esc, err := second.Executions.Get(rep.Failed[0].Escalation)
	if err != nil || esc.Status != execution.Succeeded || !strings.Contains(esc.Params["message"].(string), "host-never-started") {
		t.Fatalf("escalation: %+v %v", esc, err)
	}
}

// Killed after claiming a delivery and before acting on it: the sender got
// no answer and retries. After the pending grace the retry acts, instead
// of being dropped as a duplicate.
func TestDeliveryClaimedByACrashedProcessIsActedOnWhenRetried(t *testing.T) {
	stateDir := t.TempDir()
	ctx := context.Background()
	scene := newScene(t, nil)
	if err := scene.Break(); err != nil {
		t.Fatal(err)
	}
	body, _ := scene.Event()
	triggers, err := sensor.Parse(body, sensor.Request{Path: "/v1/events"})
	if err != nil || len(triggers) != 1 {
		t.Fatalf("parse: %v %v", triggers, err)
	}
	first := openLocal(t, stateDir, io.Discard)
	if _, err := first.Engine.Consolidator.Observe(ctx, triggers[0]); err != nil {
		t.Fatal(err)
	} // ... and the process dies here.

	var out bytes.Buffer
	second := openLocal(t, stateDir, &out)
	second.Engine.Consolidator.PendingGrace = time.Millisecond
	time.Sleep(5 * time.Millisecond)
	url := httptestServer(t, second)
	resp, err := httpPost(url+"/v1/events", body)
	if err != nil || strings.Contains(resp, `"duplicate": true`) || !strings.Contains(resp, `"execution"`) {
		t.Fatalf("the retry was dropped: %s %v", resp, err)
	}
	second.Starter.Wait()
	if err := scene.Check(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// Dealt with now: a further redelivery is a duplicate.
	if resp, _ := httpPost(url+"/v1/events", body); !strings.Contains(resp, `"duplicate": true`) {
		t.Fatalf("redelivery after the run: %s", resp)
	}
}
