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
	register(command{name: "pack", summary: "check packs: validate [DIR] (default ./packs)", run: runPack})
}

func runPack(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stderr, "usage: medic pack validate [DIR]")
		return 2
	}
	fs := flag.NewFlagSet("pack validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil || len(pos) > 1 {
		fmt.Fprintln(stderr, "usage: medic pack validate [DIR]")
		return 2
	}
	dir := "packs"
	if len(pos) == 1 {
		dir = pos[0]
	}
	set, err := pack.LoadDir(dir)
	var problems rule.Problems
	switch {
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
	fmt.Fprintf(stdout, "%s: %d pack(s), %d rule(s), %d action(s), %d alias(es), %d policy(ies): OK\n",
		dir, len(set.Packs), len(set.Rules()), len(set.Actions()), len(set.Aliases()), len(set.Policies()))
	return 0
}
