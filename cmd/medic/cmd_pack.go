package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
)

func init() {
	register(command{name: "pack", summary: "check packs: validate [DIR] [--json] (default ./packs)", run: runPack})
}

func runPack(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stderr, "usage: medic pack validate [DIR] [--json]")
		return 2
	}
	fs := flag.NewFlagSet("pack validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the problems as JSON ([{file, line, field, reason}])")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil || len(pos) > 1 {
		fmt.Fprintln(stderr, "usage: medic pack validate [DIR] [--json]")
		return 2
	}
	dir := "packs"
	if len(pos) == 1 {
		dir = pos[0]
	}
	set, err := pack.LoadDir(dir)
	var problems rule.Problems
	switch {
	case errors.As(err, &problems) && *asJSON:
		printJSON(stdout, problemsJSON(problems))
		return 1
	case errors.As(err, &problems):
		for _, p := range problems {
			fmt.Fprintln(stdout, p.Error())
		}
		fmt.Fprintf(stdout, "%d problem(s) in %s\n", len(problems), dir)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Lint warnings do not fail validation: they name commands where a
	// parameter could be read as an option (see docs/actions.md, Threat model).
	warnings := pack.Lint(set)
	if *asJSON {
		printWarnings(stderr, warnings)
		return printJSON(stdout, problemsJSON(nil))
	}
	printWarnings(stdout, warnings)
	summary := "OK"
	if len(warnings) > 0 {
		summary = fmt.Sprintf("OK, %d warning(s)", len(warnings))
	}
	fmt.Fprintf(stdout, "%s: %d pack(s), %d rule(s), %d action(s), %d alias(es), %d policy(ies): %s\n",
		dir, len(set.Packs), len(set.Rules()), len(set.Actions()), len(set.Aliases()), len(set.Policies()), summary)
	return 0
}

func printWarnings(w io.Writer, warnings []pack.Warning) {
	for _, warn := range warnings {
		fmt.Fprintln(w, "warning: "+warn.String())
	}
}

type problemJSON struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func problemsJSON(ps rule.Problems) []problemJSON {
	out := make([]problemJSON, len(ps))
	for i, p := range ps {
		out[i] = problemJSON{p.File, p.Line, p.Field, p.Reason}
	}
	return out
}
