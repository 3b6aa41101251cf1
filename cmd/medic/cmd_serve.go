package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/medic-sre/medic/internal/app"
	"github.com/medic-sre/medic/internal/demo"
	"github.com/medic-sre/medic/internal/server/apitoken"
	"github.com/medic-sre/medic/internal/slack/secrets"
)

func init() {
	register(command{name: "serve", summary: "run the whole alert path locally: intake, rules, workflows", run: runServe})
	register(command{name: "demo", summary: "break something on this machine, alert Medic, and prove it heals it", run: runDemo})
}

// localFlags are the settings every local composition shares.
type localFlags struct {
	packs, machines, state, workdir, chatops string
	poll                                     int
}

func (f *localFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.packs, "packs", envOr("MEDIC_PACKS_DIR", "packs"), "packs directory")
	fs.StringVar(&f.machines, "statemachines", envOr("MEDIC_STATEMACHINES_DIR", "statemachines"), "state machines directory")
	fs.StringVar(&f.state, "state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory (executions, datastore)")
	fs.StringVar(&f.workdir, "workdir", "", "working directory for local commands (default: current)")
	fs.StringVar(&f.chatops, "chatops-config", envOr("MEDIC_CHATOPS_CONFIG", "config/chatops.yaml"), "who may run, approve and silence what from Slack (used when MEDIC_SLACK_BOT_TOKEN and MEDIC_SLACK_SIGNING_SECRET are set)")
	fs.IntVar(&f.poll, "poll-seconds", 1, "seconds workflows wait between command status polls")
}

func (f *localFlags) open(out io.Writer, log *slog.Logger) (*app.Local, error) {
	return app.NewLocal(app.LocalConfig{
		PacksDir: f.packs, MachinesDir: f.machines, StateDir: f.state,
		PollSeconds: f.poll, WorkDir: f.workdir, Out: out, Log: log,
		Slack: secrets.FromEnv(os.Getenv), ChatopsConfig: f.chatops,
	})
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf localFlags
	lf.bind(fs)
	addr := fs.String("addr", envOr("MEDIC_ADDR", "127.0.0.1:8080"), "listen address")
	playDemo := fs.Bool("demo", false, "play the self-healing demo scene once after starting")
	logLevel := fs.String("log-level", envOr("MEDIC_LOG_LEVEL", "warn"), "log level: debug, info, warn, error")
	grace := fs.Duration("shutdown-timeout", envDuration("MEDIC_SHUTDOWN_TIMEOUT", 30*time.Second),
		"on SIGTERM, how long running steps get to reach a recorded point before medic exits")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *grace < 0 {
		fmt.Fprintf(stderr, "medic serve: --shutdown-timeout must not be negative, got %s\n", *grace)
		return 2
	}
	// Signals are caught from here on: a SIGTERM during start-up still
	// stops in order.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	local, err := lf.open(stdout, newLogger(stderr, *logLevel))
	if err != nil {
		fmt.Fprintln(stderr, "medic serve:", err)
		return 1
	}
	// Before serving: what a previous run left behind is resumed or
	// escalated, and damaged files are reported (never a reason not to
	// start).
	report, err := local.Recover(context.Background())
	report.Print(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "medic serve: recovery:", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "medic serve:", err)
		return 1
	}
	srv := &http.Server{Handler: local.Server.Routes(), ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "medic serving on %s (POST %s/v1/events); packs: %s\n", base, base, lf.packs)
	fmt.Fprintf(stdout, "read and control endpoints need the API token in %s (Authorization: Bearer …)\n", apitoken.Path(lf.state))
	go func() {
		<-ctx.Done()
		// Intake stops first: no new delivery is accepted that could not
		// be finished.
		shutdown, cancel := context.WithTimeout(context.Background(), min(*grace, 5*time.Second))
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := local.RunTimers(ctx); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "medic serve: timers:", err)
		}
	}()
	go func() { _ = local.RunConsolidation(ctx) }()
	if *playDemo {
		go func() {
			scene := demo.DefaultScene(".", stdout)
			scene.APIToken = local.Server.APIToken
			if err := scene.Play(base, 2*time.Minute); err != nil {
				fmt.Fprintln(stderr, "demo failed:", err)
			}
		}()
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "medic serve:", err)
		return 1
	}
	drainExecutions(local, *grace, stdout)
	return 0
}

// drainExecutions lets running executions reach a recorded point within
// grace: each ends, or waits for a callback (an approval, which stays
// waiting on disk and is asked again after a restart). Whatever is still
// busy then is left RUNNING for the next start to resume or escalate.
func drainExecutions(local *app.Local, grace time.Duration, stdout io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	busy := local.Starter.Quiesce(ctx)
	if len(busy) > 0 {
		fmt.Fprintf(stdout, "medic serve: stopping after %s with %d execution(s) mid-step; the next start resumes or escalates them: %s\n",
			grace, len(busy), strings.Join(busy, ", "))
		return
	}
	fmt.Fprintln(stdout, "medic serve: stopped; every execution ended or is waiting on disk")
}

// envDuration reads a flag's default duration from the environment
// (MEDIC_SHUTDOWN_TIMEOUT=45s). Unset gives def; an unreadable or negative
// value gives def too, with a warning naming the variable, since the flag
// parser only checks values given on the command line.
func envDuration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		fmt.Fprintf(os.Stderr, "medic: %s=%q is not a duration (e.g. 30s); using %s\n", key, v, def)
		return def
	}
	return d
}

// runDemo serves on a free local port, plays the scene and exits: 0 when the
// repair is proven.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf localFlags
	lf.bind(fs)
	dir := fs.String("dir", "/tmp/medic-demo/scratch", "scratch directory the scene fills up")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	local, err := lf.open(stdout, newLogger(stderr, "warn"))
	if err != nil {
		fmt.Fprintln(stderr, "medic demo:", err)
		return 1
	}
	report, err := local.Recover(context.Background())
	report.Print(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "medic demo: recovery:", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, "medic demo:", err)
		return 1
	}
	srv := &http.Server{Handler: local.Server.Routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = local.RunConsolidation(ctx) }()
	scene := demo.DefaultScene(".", stdout)
	scene.Dir = *dir
	scene.APIToken = local.Server.APIToken
	if err := scene.Play("http://"+ln.Addr().String(), 2*time.Minute); err != nil {
		fmt.Fprintln(stderr, "medic demo:", err)
		return 1
	}
	local.Starter.Wait()
	return 0
}
