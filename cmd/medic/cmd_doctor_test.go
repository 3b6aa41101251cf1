package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/rejected"
)

func medic(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

// doctor finds damage serve has not met yet (it reads every file), lists
// it with the reason, and exits 1; a clean directory exits 0.
func TestDoctor(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := medic("doctor", "--state", dir); code != 0 || !strings.Contains(out, "no damaged state files") {
		t.Fatalf("clean: %d %q %q", code, out, errOut)
	}
	os.MkdirAll(filepath.Join(dir, "executions"), 0o755)
	os.WriteFile(filepath.Join(dir, "executions", "run-1.json"), []byte(`{"id":"run-1","st`), 0o644)
	os.MkdirAll(filepath.Join(dir, "consolidation", "lease"), 0o700)
	os.WriteFile(filepath.Join(dir, "consolidation", "lease", "web-1.json"), []byte(`nope`), 0o600)
	os.MkdirAll(filepath.Join(dir, "kv"), 0o700)
	os.WriteFile(filepath.Join(dir, "kv", "kv.json"), []byte(`[`), 0o600)
	code, out, _ := medic("doctor", "--state", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"3 damaged state file(s)", "run-1.json", "web-1.json", "kv.json", "unexpected end of JSON input"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	// Still listed (and still exit 1) until an operator deals with them.
	if code, _, _ := medic("doctor", "--state", dir, "--json"); code != 1 {
		t.Fatalf("second run exit %d", code)
	}
	if code, _, _ := medic("doctor", "--state", dir, "extra"); code != 2 {
		t.Fatal("an unexpected argument was accepted")
	}
}

// events rejected lists what intake refused, escaping sender-written
// control characters so a body cannot forge lines or drive the terminal.
func TestEventsRejected(t *testing.T) {
	dir := t.TempDir()
	if code, out, _ := medic("events", "rejected", "--state", dir); code != 0 || !strings.Contains(out, "no rejected deliveries") {
		t.Fatalf("empty: %d %q", code, out)
	}
	keep := &rejected.Store{Dir: filepath.Join(dir, rejected.Subdir)}
	keep.Keep("unknown event shape", "/v1/webhooks/x\n2026 forged line", []byte("{\"a\":\"\x1b[2J\"}\nforged"))
	code, out, _ := medic("events", "rejected", "--state", dir, "--body")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\nforged") || strings.Contains(out, "\n2026 forged") {
		t.Fatalf("control characters reached the terminal:\n%q", out)
	}
	if !strings.Contains(out, "unknown event shape") || !strings.Contains(out, `\x1b[2J`) {
		t.Fatalf("listing:\n%s", out)
	}
	if code, _, _ := medic("events"); code != 2 {
		t.Fatal("events without a verb accepted")
	}
	if code, _, _ := medic("events", "accepted"); code != 2 {
		t.Fatal("unknown verb accepted")
	}
}

// A negative shutdown timeout is refused before anything starts.
func TestServeRefusesBadShutdownTimeout(t *testing.T) {
	for _, v := range []string{"-1s", "soon", "1e99h"} {
		if code, _, errOut := medic("serve", "--state", t.TempDir(), "--shutdown-timeout", v); code != 2 {
			t.Errorf("--shutdown-timeout %s: exit %d (%s)", v, code, errOut)
		}
	}
	t.Setenv("MEDIC_SHUTDOWN_TIMEOUT", "forever")
	if d := envDuration("MEDIC_SHUTDOWN_TIMEOUT", 30e9); d != 30e9 {
		t.Fatalf("bad env value gave %s", d)
	}
}
