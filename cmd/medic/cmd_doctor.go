package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/quarantine"
	"github.com/medic-sre/medic/internal/state"
)

func init() {
	register(command{name: "doctor", summary: "check the state directory: list quarantined (damaged) files; exit 1 if any", run: runDoctor})
}

// runDoctor reads every local state file once, so damage not yet met by
// `medic serve` is found and set aside too, then lists the quarantine.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "medic doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	area := quarantine.ForStateDir(*stateDir)
	area.Log = newLogger(stderr, "error")
	if err := scanState(*stateDir, area); err != nil {
		fmt.Fprintln(stderr, "medic doctor:", err)
		return 1
	}
	entries, err := area.List()
	if err != nil {
		fmt.Fprintln(stderr, "medic doctor:", err)
		return 1
	}
	if *asJSON {
		if printJSON(stdout, entries) != 0 {
			return 1
		}
	} else {
		printQuarantine(stdout, *stateDir, entries)
	}
	if len(entries) > 0 {
		return 1
	}
	return 0
}

// scanState reads every record of every kind, quarantining what does not
// decode (the readers do that themselves).
func scanState(dir string, area *quarantine.Area) error {
	execs, err := execution.OpenFileStore(filepath.Join(dir, "executions"))
	if err != nil {
		return err
	}
	execs.Quarantine = area
	if _, err := execs.List(); err != nil {
		return err
	}
	store, err := kv.OpenLocal(filepath.Join(dir, "kv"))
	if err != nil {
		return err
	}
	store.Quarantine = area
	if _, err := store.List(""); err != nil {
		return err
	}
	// Opening the consolidation store sweeps it: every item file is read.
	_, err = state.OpenStateDirWith(dir, area)
	return err
}

func printQuarantine(w io.Writer, dir string, entries []quarantine.Entry) {
	if len(entries) == 0 {
		fmt.Fprintf(w, "%s: no damaged state files\n", dir)
		return
	}
	fmt.Fprintf(w, "%s: %d damaged state file(s) set aside in %s:\n", dir, len(entries), filepath.Join(dir, quarantine.Subdir))
	for _, e := range entries {
		fmt.Fprintf(w, "  %s  %s\n    was: %s\n    why: %s\n", e.At.Format("2006-01-02T15:04:05Z07:00"), e.File, orUnknown(e.Source), e.Reason)
	}
	fmt.Fprintln(w, "Each was read as absent. Inspect it, then move it back (fixed) or delete it.")
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
