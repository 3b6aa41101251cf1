package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medic-sre/medic/catalog"
	"github.com/medic-sre/medic/internal/coverage"
)

const (
	coverageCatalog = "../../internal/coverage/testdata/catalog.yaml"
	coveragePacks   = "../../internal/coverage/testdata/packs"
)

func runCoverage(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = dispatch(append([]string{"packs", "coverage"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

type coverageJSON struct {
	Total, Handled int
	Share          float64
	Entries        []struct {
		Entry   struct{ ID string }
		Handled bool
		Refused string
	}
}

func coverageReport(t *testing.T, args ...string) coverageJSON {
	t.Helper()
	code, out, errOut := runCoverage(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep coverageJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return rep
}

func TestPacksCoverageTableAndJSONAgree(t *testing.T) {
	code, out, errOut := runCoverage(t, "--packs", coveragePacks, "--catalog", coverageCatalog)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rep := coverageReport(t, "--packs", coveragePacks, "--catalog", coverageCatalog)
	handled := 0
	for _, e := range rep.Entries {
		if e.Handled {
			handled++
		}
	}
	if rep.Handled != handled || rep.Total != len(rep.Entries) {
		t.Errorf("JSON says %d/%d handled, its entries %d/%d", rep.Handled, rep.Total, handled, len(rep.Entries))
	}
	total := fmt.Sprintf("total    %d/%d", rep.Handled, rep.Total)
	if !strings.Contains(out, total) || !strings.Contains(out, "+ host.disk (CWAgent disk_used_percent, expect auto): t.clean_disk -> t.clean [auto]") {
		t.Errorf("table lacks %q or the entry lines:\n%s", total, out)
	}
}

// The built-in catalog against the shipped packs: the command works, no
// event is refused, and it reports the same numbers as the package does.
func TestPacksCoverageOfShippedCatalog(t *testing.T) {
	rep := coverageReport(t, "--packs", "../../packs")
	cat, err := coverage.Parse(catalog.Name, catalog.AlertsYAML)
	if err != nil {
		t.Fatal(err)
	}
	set, err := loadPacksForTest("../../packs", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	results, err := coverage.Evaluate(cat, set)
	if err != nil {
		t.Fatal(err)
	}
	direct := coverage.Summarise(catalog.Name, "../../packs", results)
	if rep.Total != len(cat.Alerts) || rep.Handled != direct.Handled {
		t.Errorf("command: %d/%d, package: %d/%d", rep.Handled, rep.Total, direct.Handled, len(cat.Alerts))
	}
	for _, e := range rep.Entries {
		if e.Refused != "" {
			t.Errorf("%s: refused: %s", e.Entry.ID, e.Refused)
		}
	}
}

// --min-share turns the report into a gate: met exits 0, missed exits 1
// and says by how much; nonsense is a usage error.
func TestPacksCoverageMinShare(t *testing.T) {
	rep := coverageReport(t, "--packs", coveragePacks, "--catalog", coverageCatalog)
	args := []string{"--packs", coveragePacks, "--catalog", coverageCatalog, "--min-share"}
	if code, _, errOut := runCoverage(t, append(args, fmt.Sprint(rep.Share))...); code != 0 {
		t.Errorf("--min-share at the share: exit %d: %s", code, errOut)
	}
	above := fmt.Sprint(rep.Share + 0.01)
	code, _, errOut := runCoverage(t, append(args, above)...)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("%d of %d alerts handled", rep.Handled, rep.Total)) {
		t.Errorf("--min-share above the share: exit %d: %s", code, errOut)
	}
	for _, bad := range []string{"1.5", "-0.1", "NaN", "90%", "lots"} {
		if code, _, _ := runCoverage(t, append(args, bad)...); code != 2 {
			t.Errorf("--min-share %s: exit %d, want 2", bad, code)
		}
	}
}

func TestPacksCoverageBadInput(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), maxCatalogBytes/10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("sources: {}\nalerts:\n  - {id: x, service: s, source: nope, title: t, expect: auto}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--catalog", big}, "over 16777216 bytes"},
		{[]string{"--catalog", bad}, `bad.yaml:3: alerts[0].source: "nope" is not a key of sources`},
		{[]string{"--catalog", "testdata/no-such-catalog.yaml"}, "no-such-catalog.yaml"},
		{[]string{"--packs", "testdata/no-such-packs"}, "no-such-packs"},
		{[]string{"extra"}, "usage: medic packs coverage"},
	}
	for _, c := range cases {
		if code, _, errOut := runCoverage(t, c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"packs", "list"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage:") {
		t.Errorf("packs list: exit %d, %q", code, errOut.String())
	}
}
