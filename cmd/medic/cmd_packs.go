package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/medic-sre/medic/catalog"
	"github.com/medic-sre/medic/internal/coverage"
)

func init() {
	register(command{name: "packs", summary: "what the packs do with common alerts: coverage [--packs DIR] [--catalog F] [--json] [--min-share X]", run: runPacks})
}

const packsUsage = "usage: medic packs coverage [--packs DIR] [--catalog FILE] [--json] [--min-share 0..1]"

// Exit codes of `medic packs coverage`: the report is informational, so it
// exits 0 unless --min-share asks it to judge.
const (
	coverageReported = 0
	coverageBelowMin = 1
	coverageError    = 2
)

func runPacks(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "coverage" {
		fmt.Fprintln(stderr, packsUsage)
		return coverageError
	}
	fs := flag.NewFlagSet("packs coverage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	packsDir := fs.String("packs", envOr("MEDIC_PACKS_DIR", "packs"), "packs directory")
	catalogFile := fs.String("catalog", "", "catalog of alerts (default: the catalog built into medic, catalog/alerts.yaml)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	minShare := fs.Float64("min-share", 0, "exit 1 when the handled share is below this (0 to 1)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, packsUsage)
		return coverageError
	}
	if math.IsNaN(*minShare) || *minShare < 0 || *minShare > 1 {
		fmt.Fprintf(stderr, "medic packs coverage: --min-share %v: must be a share between 0 and 1 (0.9 for 90%%)\n", *minShare)
		return coverageError
	}
	cat, catName, err := loadCatalog(*catalogFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return coverageError
	}
	set, err := loadPacksForTest(*packsDir, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return coverageError
	}
	results, err := coverage.Evaluate(cat, set)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return coverageError
	}
	rep := coverage.Summarise(catName, *packsDir, results)
	if *asJSON {
		printJSON(stdout, rep)
	} else {
		rep.WriteEntries(stdout)
		fmt.Fprintln(stdout)
		rep.WriteTable(stdout)
	}
	if rep.Share < *minShare {
		fmt.Fprintf(stderr, "medic packs coverage: %d of %d alerts handled (%.1f%%), below --min-share %v\n", rep.Handled, rep.Total, 100*rep.Share, *minShare)
		return coverageBelowMin
	}
	return coverageReported
}

// maxCatalogBytes bounds a --catalog file: the built-in catalog is about
// 150 KB, and a bigger file is a mistake, not a catalog.
const maxCatalogBytes = 16 << 20

// loadCatalog reads the catalog file, or the one built into medic.
func loadCatalog(file string) (*coverage.Catalog, string, error) {
	if file == "" {
		cat, err := coverage.Parse(catalog.Name, catalog.AlertsYAML)
		return cat, catalog.Name, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, file, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCatalogBytes+1))
	switch {
	case err != nil:
		return nil, file, fmt.Errorf("%s: %w", file, err)
	case len(data) > maxCatalogBytes:
		return nil, file, fmt.Errorf("%s: over %d bytes; a catalog is a list of alerts, not this big", file, maxCatalogBytes)
	}
	cat, err := coverage.Parse(file, data)
	return cat, file, err
}
