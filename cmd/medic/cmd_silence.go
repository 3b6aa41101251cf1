package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/silence"
	"github.com/medic-sre/medic/internal/state"
)

func init() {
	register(command{name: "silence", summary: "mute alerts: add MATCHER... --for 2h --comment WHY | list [--all] | expire ID", run: runSilence})
}

const silenceUsage = `usage: medic silence add MATCHER... (--for DURATION | --until RFC3339) --comment WHY [--author NAME] [--starts RFC3339]
       medic silence list [--all] [--json]
       medic silence expire ID
  MATCHER is NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX (regexes match the whole value),
  e.g. alertname=disk-full 'InstanceId=~i-0a.*'. All commands take --state DIR (default $MEDIC_STATE_DIR or .medic).`

func runSilence(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, silenceUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("silence "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory")
	dur := fs.Duration("for", 0, "silence add: how long, e.g. 2h")
	until := fs.String("until", "", "silence add: end time, RFC3339")
	starts := fs.String("starts", "", "silence add: start time, RFC3339 (default now)")
	comment := fs.String("comment", "", "silence add: why (required)")
	author := fs.String("author", envOr("USER", ""), "silence add: who (default $USER)")
	all := fs.Bool("all", false, "silence list: include expired silences")
	asJSON := fs.Bool("json", false, "silence list: print JSON")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	store, err := state.OpenStateDir(*stateDir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	silences := &silence.Store{State: store}
	ctx := context.Background()
	switch {
	case verb == "add" && len(pos) > 0:
		return silenceAdd(ctx, silences, pos, silenceTimes{*dur, *until, *starts}, *author, *comment, stdout, stderr)
	case verb == "list" && len(pos) == 0:
		return silenceList(ctx, silences, *all, *asJSON, stdout, stderr)
	case verb == "expire" && len(pos) == 1:
		s, err := silences.Expire(ctx, pos[0])
		if err != nil { // silence.ErrNotFound names the ID
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "silence %s expired at %s\n", s.ID, s.EndsAt.Format(time.RFC3339))
		return 0
	}
	fmt.Fprintln(stderr, silenceUsage)
	return 2
}

type silenceTimes struct {
	dur           time.Duration
	until, starts string
}

func (st silenceTimes) window(now time.Time) (start, end time.Time, err error) {
	start = now
	if st.starts != "" {
		if start, err = time.Parse(time.RFC3339, st.starts); err != nil {
			return start, end, fmt.Errorf("--starts: %q is not RFC3339 (2026-01-02T15:04:05Z)", st.starts)
		}
	}
	switch {
	case st.dur != 0 && st.until != "":
		return start, end, fmt.Errorf("give --for or --until, not both")
	case st.dur > 0:
		return start, start.Add(st.dur), nil
	case st.dur < 0:
		return start, end, fmt.Errorf("--for: %s is negative", st.dur)
	case st.until != "":
		if end, err = time.Parse(time.RFC3339, st.until); err != nil {
			return start, end, fmt.Errorf("--until: %q is not RFC3339 (2026-01-02T15:04:05Z)", st.until)
		}
		return start, end, nil
	}
	return start, end, fmt.Errorf("say how long: --for DURATION or --until RFC3339")
}

func silenceAdd(ctx context.Context, silences *silence.Store, matchers []string, times silenceTimes, author, comment string, stdout, stderr io.Writer) int {
	ms, err := alert.ParseMatchers(matchers)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	start, end, err := times.window(time.Now())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	s, err := silences.Add(ctx, silence.Silence{Matchers: ms, StartsAt: start, EndsAt: end, CreatedBy: author, Comment: comment})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "silence %s: %s until %s\n", s.ID, s.Matchers, s.EndsAt.Format(time.RFC3339))
	return 0
}

func silenceList(ctx context.Context, silences *silence.Store, all, asJSON bool, stdout, stderr io.Writer) int {
	list, err := silences.List(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	now := time.Now()
	shown := []silence.Silence{}
	for _, s := range list {
		if all || s.State(now) != "expired" {
			shown = append(shown, s)
		}
	}
	if asJSON {
		return printJSON(stdout, shown)
	}
	for _, s := range shown {
		fmt.Fprintf(stdout, "%s\t%s\t%s\tuntil %s\tby %s: %s\n", s.ID, s.State(now), s.Matchers,
			s.EndsAt.Format(time.RFC3339), s.CreatedBy, s.Comment)
	}
	if len(shown) == 0 {
		fmt.Fprintln(stderr, "no silences")
	}
	return 0
}
