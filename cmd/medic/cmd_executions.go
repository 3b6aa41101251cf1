package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/quarantine"
)

func init() {
	register(command{name: "executions", summary: "list executions, or show one's timeline (list | get ID [--json])", run: runExecutions})
}

func runExecutions(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "get") {
		fmt.Fprintln(stderr, "usage: medic executions list | get ID [--json] [--state DIR]")
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("executions "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	rest := args[1:]
	var id string
	if verb == "get" {
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			fmt.Fprintln(stderr, "usage: medic executions get ID [--json] [--state DIR]")
			return 2
		}
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	store, err := execution.OpenFileStore(filepath.Join(*state, "executions"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	store.Quarantine = quarantine.ForStateDir(*state)
	store.Quarantine.Log = newLogger(stderr, "error")
	if verb == "list" {
		return listExecutions(store, *asJSON, stdout, stderr)
	}
	rec, err := store.Get(id)
	if errors.Is(err, execution.ErrNotFound) {
		fmt.Fprintf(stderr, "execution %q not found in %s\n", id, *state)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, rec)
	}
	execution.Render(stdout, rec)
	return 0
}

func listExecutions(store *execution.FileStore, asJSON bool, stdout, stderr io.Writer) int {
	recs, skipped, err := store.ListReport()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, e := range skipped {
		fmt.Fprintf(stderr, "skipped a damaged record: %s (moved to %s; see medic doctor)\n", e.Source, e.File)
	}
	if asJSON {
		return printJSON(stdout, recs)
	}
	if len(recs) == 0 {
		fmt.Fprintln(stdout, "no executions yet")
	}
	for _, rec := range recs {
		fmt.Fprintln(stdout, execution.Summary(rec))
	}
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}
