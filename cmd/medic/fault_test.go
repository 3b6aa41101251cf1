package main

// The fault-injection suite: the real medic binary, built once here, is
// killed with SIGKILL at step boundaries of the demo workflow, stopped with
// SIGTERM while an approval waits, and restarted on the same state
// directory. After each restart every alert must have been remediated once
// or escalated once: never lost, never silently dropped, never run twice.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/medic-sre/medic/internal/demo"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/state"
)

var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// medicBinary builds cmd/medic once per test run.
var medicBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "medic-fault-*")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "medic")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// served is one `medic serve` process.
type served struct {
	cmd  *exec.Cmd
	url  string
	out  *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve starts medic serve on stateDir with packs, on a free port.
func serve(t *testing.T, stateDir, packs string, args ...string) *served {
	t.Helper()
	bin, err := medicBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--state", stateDir,
		"--packs", packs, "--statemachines", "statemachines", "--poll-seconds", "1", "--log-level", "error"}, args...)...)
	cmd.Dir = "../.."
	pr, pw := io.Pipe()
	s := &served{cmd: cmd, out: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = pw, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.out.Write([]byte(line + "\n"))
			if rest, ok := strings.CutPrefix(line, "medic serving on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
	}()
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done })
	select {
	case s.url = <-urls:
	case err := <-s.done:
		t.Fatalf("medic serve exited at start: %v\n%s", err, s.out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("medic serve did not start:\n%s", s.out.String())
	}
	return s
}

// kill9 ends the process the hard way, as a crash or the OOM killer would.
func (s *served) kill9(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.done <- nil // for Cleanup
}

// term asks it to stop and returns how long it took.
func (s *served) term(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- nil
		if err != nil {
			t.Fatalf("medic serve exited with %v after SIGTERM\n%s", err, s.out.String())
		}
	case <-time.After(limit):
		t.Fatalf("medic serve still running %s after SIGTERM\n%s", limit, s.out.String())
	}
	return time.Since(start)
}

// authorized sends a request with the API token serve keeps in stateDir,
// as `medic tasks` does.
func authorized(t *testing.T, method, url, stateDir string, body []byte) (*http.Response, error) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(stateDir, "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

func postJSON(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// records reads the execution records straight from disk.
func records(t *testing.T, stateDir string) []*execution.Record {
	t.Helper()
	store, err := execution.OpenFileStore(filepath.Join(stateDir, "executions"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func entered(rec *execution.Record, stateName string) bool {
	for _, s := range rec.Timeline {
		if s.Kind == "state" && s.Name == stateName {
			return true
		}
	}
	return false
}

// waitRecord polls until ok holds for some record.
func waitRecord(t *testing.T, stateDir string, what string, ok func(*execution.Record) bool) *execution.Record {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, rec := range records(t, stateDir) {
			if ok(rec) {
				return rec
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no execution %s; records: %+v", what, records(t, stateDir))
	return nil
}

// escalationsOf are the interrupted-run escalations naming id.
func escalationsOf(t *testing.T, stateDir, id string) []*execution.Record {
	var out []*execution.Record
	for _, rec := range records(t, stateDir) {
		msg, _ := rec.Params["message"].(string)
		if rec.Action == "core.notify" && strings.Contains(msg, id) && strings.Contains(msg, "interrupted") {
			out = append(out, rec)
		}
	}
	return out
}

// Kill -9 at step boundaries of diagnose-remediate-verify, restart, and
// check the alert was escalated exactly once (or, if the run had already
// ended, remediated exactly once); a second restart and a redelivery of
// the alert change nothing, and the target's lease is free.
func TestCrashAtStepBoundariesIsEscalatedOnce(t *testing.T) {
	for _, boundary := range []string{"Diagnose", "Remediate", "WaitVerify", "after the end"} {
		t.Run(boundary, func(t *testing.T) {
			t.Parallel()
			stateDir := t.TempDir()
			scene := demo.DefaultScene("../..", io.Discard)
			scene.Dir = filepath.Join(t.TempDir(), "scratch")
			scene.EventID = uuid.NewString()
			if err := scene.Break(); err != nil {
				t.Fatal(err)
			}
			alarm, _ := scene.Event()
			first := serve(t, stateDir, "packs")
			if code, body := postJSON(t, first.url+"/v1/events", alarm); code != http.StatusAccepted {
				t.Fatalf("alert: %d %s", code, body)
			}
			var victim *execution.Record
			if boundary == "after the end" {
				victim = waitRecord(t, stateDir, "that ended", func(r *execution.Record) bool { return r.Status.Done() })
			} else {
				victim = waitRecord(t, stateDir, "entering "+boundary, func(r *execution.Record) bool { return entered(r, boundary) })
			}
			first.kill9(t)

			second := serve(t, stateDir, "packs")
			after := waitRecord(t, stateDir, "recovered", func(r *execution.Record) bool { return r.ID == victim.ID && r.Status.Done() })
			escalations := escalationsOf(t, stateDir, victim.ID)
			switch after.Status {
			case execution.Succeeded: // it had finished before the kill: remediated once
				if len(escalations) != 0 {
					t.Fatalf("a finished run was escalated: %+v", escalations)
				}
			case execution.Failed:
				if after.Error != "Medic.Interrupted" || !strings.Contains(after.Cause, "interrupted: medic serve stopped during state") {
					t.Fatalf("failed without the reason: %s: %s", after.Error, after.Cause)
				}
				if len(escalations) != 1 {
					t.Fatalf("%d escalations, want 1\n%s", len(escalations), second.out.String())
				}
				if !strings.Contains(second.out.String(), "recovered: execution "+victim.ID+" FAILED") {
					t.Fatalf("start-up report does not name it:\n%s", second.out.String())
				}
			default:
				t.Fatalf("after restart the run is %s", after.Status)
			}
			// A redelivery of the alert is a duplicate, not a second run.
			code, body := postJSON(t, second.url+"/v1/events", alarm)
			if code != http.StatusAccepted || !strings.Contains(body, `"duplicate": true`) {
				t.Fatalf("redelivery: %d %s", code, body)
			}
			second.term(t, 10*time.Second)
			// Restarting again escalates nothing more and leaves nothing running.
			third := serve(t, stateDir, "packs")
			third.term(t, 10*time.Second)
			remediations := 0
			for _, rec := range records(t, stateDir) {
				if rec.Status == execution.Running {
					t.Fatalf("still RUNNING after two restarts: %s", rec.ID)
				}
				if rec.Action == "linux.free_disk" {
					remediations++
				}
			}
			if remediations != 1 || len(escalationsOf(t, stateDir, victim.ID)) != len(escalations) {
				t.Fatalf("%d remediations (want 1), escalations %d then %d", remediations, len(escalations), len(escalationsOf(t, stateDir, victim.ID)))
			}
			// The target is free for the next incident.
			st, err := state.OpenStateDir(stateDir)
			if err != nil {
				t.Fatal(err)
			}
			if leases, _ := st.Query(t.Context(), "lease", ""); len(leases) != 0 {
				t.Fatalf("lease still held: %+v", leases)
			}
		})
	}
}

// approvalPacks is the shipped packs plus a rule that asks a human first.
func approvalPacks(t *testing.T) string {
	dir := t.TempDir()
	for _, p := range []string{"core", "linux"} {
		if err := os.CopyFS(filepath.Join(dir, p), os.DirFS(filepath.Join("../../packs", p))); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"ops/pack.yaml": "ref: ops\nname: ops\ndescription: test pack\nversion: 0.0.1\nauthor: Medic tests\n",
		"ops/rules/ask_on_webhook.yaml": `name: ask_on_webhook
pack: ops
description: ask before anything
enabled: true
trigger:
  type: core.st2.webhook
  parameters:
    url: approve
criteria: {}
action:
  ref: core.ask
  parameters:
    question: "{{ trigger.body.question }}"
`,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func waitingTokens(t *testing.T, url, stateDir string) []string {
	resp, err := authorized(t, http.MethodGet, url+"/v1/tasks", stateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var w struct {
		Waiting []string `json:"waiting"`
	}
	json.NewDecoder(resp.Body).Decode(&w)
	return w.Waiting
}

// SIGTERM with an approval waiting used to keep the process alive until
// the approval timed out (an hour). Now it exits at once, the approval
// stays waiting on disk, and after a restart it is asked again and can be
// answered.
func TestSigtermWithApprovalWaitingResumesAfterRestart(t *testing.T) {
	t.Parallel()
	stateDir, packs := t.TempDir(), approvalPacks(t)
	first := serve(t, stateDir, packs)
	if code, body := postJSON(t, first.url+"/v1/webhooks/approve", []byte(`{"question":"restart the db?"}`)); code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", code, body)
	}
	asked := waitRecord(t, stateDir, "asking", func(r *execution.Record) bool { return entered(r, "Ask") })
	if took := first.term(t, 10*time.Second); took > 5*time.Second {
		t.Fatalf("SIGTERM took %s", took)
	}
	if recs := records(t, stateDir); len(recs) != 1 || recs[0].Status != execution.Running {
		t.Fatalf("the waiting approval was not left on disk: %+v", recs)
	}

	second := serve(t, stateDir, packs)
	if !strings.Contains(second.out.String(), "recovered: execution "+asked.ID+" was interrupted; running it again") {
		t.Fatalf("start-up report:\n%s", second.out.String())
	}
	var tokens []string
	for deadline := time.Now().Add(10 * time.Second); len(tokens) == 0 && time.Now().Before(deadline); {
		tokens = waitingTokens(t, second.url, stateDir)
		time.Sleep(20 * time.Millisecond)
	}
	if len(tokens) != 1 {
		t.Fatalf("approval not asked again: %v\n%s", tokens, second.out.String())
	}
	resp, err := authorized(t, http.MethodPost, second.url+"/v1/tasks/"+tokens[0]+"/success", stateDir, []byte(`{"comment":"after restart"}`))
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode >= 300 {
		t.Fatalf("approve: %d %s", resp.StatusCode, body)
	}
	resp.Body.Close()
	done := waitRecord(t, stateDir, "approved", func(r *execution.Record) bool { return r.ID == asked.ID && r.Status.Done() })
	if done.Status != execution.Succeeded {
		t.Fatalf("after approval: %s %s", done.Status, done.Cause)
	}
	second.term(t, 10*time.Second)
}
