// Package localrun executes shell scripts on this machine with the result
// shape of SSM Run Command, so `medic serve` remediates local targets exactly
// as the deployed stack remediates instances.
package localrun

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"

	"github.com/medic-sre/medic/internal/secret"
)

// Statuses as SSM reports them for a command invocation.
const (
	StatusSuccess   = "Success"
	StatusFailed    = "Failed"
	StatusTimedOut  = "TimedOut"
	StatusCancelled = "Cancelled"
)

// MaxOutput is where SSM truncates StandardOutputContent and
// StandardErrorContent in GetCommandInvocation; locally we truncate alike so
// workflows see the same thing.
const MaxOutput = 24000

// DefaultPath is the PATH a command gets unless its Command says otherwise:
// the usual system directories, never Medic's own PATH.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Command is one script to run.
type Command struct {
	Script string
	Dir    string
	// Path is the command's PATH; "" means DefaultPath.
	Path    string
	Env     []string // extra KEY=VALUE pairs, after the base environment
	Timeout time.Duration
}

// Environment is the whole environment a command runs with: a fixed PATH,
// a C.UTF-8 locale and HOME=/, then extra. Medic's own environment (which
// holds its Slack secrets) is never passed on; an action's parameters reach
// its command as the shell variables its script assigns, not from here.
func Environment(path string, extra []string) []string {
	if path == "" {
		path = DefaultPath
	}
	env := []string{"PATH=" + path, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HOME=/"}
	return append(env, extra...)
}

// Result is what happened.
type Result struct {
	Status    string
	ExitCode  int
	Stdout    string
	Stderr    string
	Truncated bool
	Start     time.Time
	End       time.Time
}

// Run executes cmd.Script with sh, in the environment Environment gives. The
// script gets its own process group so a timeout or cancellation kills
// everything it started. Known secret values (internal/secret) are scrubbed
// from its output before anyone sees it: the result is what execution
// records, notifications and Slack receive.
func Run(ctx context.Context, cmd Command) Result {
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	c := exec.Command("/bin/sh", "-c", cmd.Script)
	c.Dir = cmd.Dir
	c.Env = Environment(cmd.Path, cmd.Env)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	res := Result{Start: time.Now()}
	err := c.Start()
	if err == nil {
		err = waitOrKill(ctx, c)
	}
	res.End = time.Now()
	// Scrub before truncating: a secret cut in two by the limit would no
	// longer match.
	res.Stdout, res.Truncated = truncate(secret.Scrub(stdout.String()))
	var errTrunc bool
	res.Stderr, errTrunc = truncate(secret.Scrub(stderr.String()))
	res.Truncated = res.Truncated || errTrunc
	res.Status, res.ExitCode = classify(ctx, err)
	return res
}

func waitOrKill(ctx context.Context, c *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
		return ctx.Err()
	}
}

func classify(ctx context.Context, err error) (string, int) {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return StatusSuccess, 0
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return StatusTimedOut, -1
	case errors.Is(ctx.Err(), context.Canceled):
		return StatusCancelled, -1
	case errors.As(err, &exit):
		return StatusFailed, exit.ExitCode()
	default:
		return StatusFailed, -1
	}
}

func truncate(s string) (string, bool) {
	if len(s) <= MaxOutput {
		return s, false
	}
	return s[:MaxOutput], true
}
