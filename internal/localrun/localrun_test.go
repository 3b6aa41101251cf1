package localrun

import (
	"context"
	"os"
	"path/filepath"
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

// A command sees only the environment Environment gives it: Medic's own
// variables, Slack secrets included, never reach it.
func TestRunGivesAMinimalEnvironment(t *testing.T) {
	t.Setenv("MEDIC_SLACK_SIGNING_SECRET", "signing-secret-4c1d")
	t.Setenv("MEDIC_SLACK_BOT_TOKEN", "xoxb-bot-token-77aa")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-0f0f")
	res := Run(context.Background(), Command{Script: "env | sort", Env: []string{"EXTRA=1"}})
	if res.Status != StatusSuccess {
		t.Fatalf("status %s: %s", res.Status, res.Stderr)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		name, _, _ := strings.Cut(line, "=")
		names = append(names, name)
	}
	// sh itself adds PWD (and dash nothing else).
	if got := strings.Join(names, ","); got != "EXTRA,HOME,LANG,LC_ALL,PATH,PWD" {
		t.Fatalf("environment names %s, want EXTRA,HOME,LANG,LC_ALL,PATH,PWD:\n%s", got, res.Stdout)
	}
	if !strings.Contains(res.Stdout, "PATH="+DefaultPath+"\n") || !strings.Contains(res.Stdout, "LC_ALL=C.UTF-8\n") || !strings.Contains(res.Stdout, "HOME=/\n") {
		t.Fatalf("environment:\n%s", res.Stdout)
	}
	for _, leak := range []string{"signing-secret-4c1d", "xoxb-bot-token-77aa", "aws-secret-0f0f"} {
		if strings.Contains(res.Stdout, leak) {
			t.Fatalf("%s reached the command:\n%s", leak, res.Stdout)
		}
	}
	if res := Run(context.Background(), Command{Script: `printf %s "$PATH"`, Path: "/opt/x:/bin"}); res.Stdout != "/opt/x:/bin" {
		t.Fatalf("Path not used: %q", res.Stdout)
	}
}

// Whatever way a command comes by a known secret, its output is scrubbed
// before it leaves Run, on stdout and stderr.
func TestRunScrubsKnownSecretsFromOutput(t *testing.T) {
	t.Setenv("MEDIC_SLACK_BOT_TOKEN", "xoxb-bot-token-77aa")
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte("xoxb-bot-token-77aa"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), Command{Script: `cat "$F"; echo; cat "$F" >&2`, Env: []string{"F=" + secretFile}})
	if res.Stdout != "[redacted]\n" || res.Stderr != "[redacted]" {
		t.Fatalf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}
