package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/medic-sre/medic/internal/rejected"
)

func init() {
	register(command{name: "events", summary: "deliveries medic serve refused as malformed (events rejected [--json] [--body])", run: runEvents})
}

func runEvents(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rejected" {
		fmt.Fprintln(stderr, "usage: medic events rejected [--json] [--body] [--state DIR]")
		return 2
	}
	fs := flag.NewFlagSet("events rejected", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory")
	asJSON := fs.Bool("json", false, "print JSON (bodies included)")
	withBody := fs.Bool("body", false, "print each kept body too")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	store := &rejected.Store{Dir: filepath.Join(*stateDir, rejected.Subdir)}
	entries, err := store.List()
	if err != nil {
		fmt.Fprintln(stderr, "medic events rejected:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "no rejected deliveries")
		return 0
	}
	for _, e := range entries {
		cut := ""
		if e.Truncated {
			cut = fmt.Sprintf(", first %d kept", rejected.MaxBody)
		}
		fmt.Fprintf(stdout, "%s  %-28s %d bytes%s  %s\n    %s\n", e.At.Format("2006-01-02T15:04:05Z"), oneLine(e.Path), e.Size, cut, e.File, oneLine(e.Reason))
		if *withBody {
			body := e.Body
			if body == "" && len(e.BodyB64) > 0 {
				body = fmt.Sprintf("(%d bytes, not UTF-8; see --json)", len(e.BodyB64))
			}
			fmt.Fprintf(stdout, "    body: %s\n", oneLine(body))
		}
	}
	return 0
}

// oneLine keeps sender-written text (a reason quoting the body, a path, a
// body) from forging lines or driving the terminal: control characters
// are shown escaped.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
