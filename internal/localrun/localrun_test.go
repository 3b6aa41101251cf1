package localrun

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunStatuses(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, script string
		timeout      time.Duration
		status       string
		code         int
	}{
		{"success", "echo hello; echo oops >&2", 0, StatusSuccess, 0},
		{"failure", "exit 3", 0, StatusFailed, 3},
		{"timeout", "sleep 5", 50 * time.Millisecond, StatusTimedOut, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Run(ctx, Command{Script: c.script, Timeout: c.timeout})
			if res.Status != c.status || res.ExitCode != c.code {
				t.Fatalf("got %s/%d, want %s/%d", res.Status, res.ExitCode, c.status, c.code)
			}
		})
	}
	res := Run(ctx, Command{Script: "echo hello; echo oops >&2"})
	if res.Stdout != "hello\n" || res.Stderr != "oops\n" {
		t.Fatalf("output %q %q", res.Stdout, res.Stderr)
	}
}

func TestRunCancelKillsChildren(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	res := Run(ctx, Command{Script: "sleep 30 & sleep 30; wait"})
	if res.Status != StatusCancelled {
		t.Fatalf("status %s", res.Status)
	}
	if res.End.Sub(res.Start) > 5*time.Second {
		t.Fatal("cancellation did not stop the script")
	}
}

func TestRunTruncatesLikeSSM(t *testing.T) {
	res := Run(context.Background(), Command{Script: "head -c 30000 /dev/zero | tr '\\0' x"})
	if len(res.Stdout) != MaxOutput || !res.Truncated || strings.Trim(res.Stdout, "x") != "" {
		t.Fatalf("len %d truncated %v", len(res.Stdout), res.Truncated)
	}
}

func TestRunDirAndEnv(t *testing.T) {
	dir := t.TempDir()
	res := Run(context.Background(), Command{Script: `pwd; echo "$GREETING"`, Dir: dir, Env: []string{"GREETING=hi"}})
	if res.Stdout != dir+"\n"+"hi\n" {
		t.Fatalf("got %q", res.Stdout)
	}
}
