package coverage

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/medic-sre/medic/internal/pack"
)

// Report is the coverage of a catalog by a set of packs.
type Report struct {
	Catalog  string           `json:"catalog"`
	Packs    string           `json:"packs"`
	Total    int              `json:"total"`
	Handled  int              `json:"handled"`
	Share    float64          `json:"share"` // Handled / Total
	Services []ServiceSummary `json:"services"`
	Entries  []Result         `json:"entries"`
}

// ServiceSummary counts one service's entries.
type ServiceSummary struct {
	Service string `json:"service"`
	Total   int    `json:"total"`
	Handled int    `json:"handled"`
	// ByHandling counts the handled entries by the handling of their action.
	ByHandling map[string]int `json:"by_handling"`
	// AsExpected counts the handled entries whose handling is the one the
	// catalog expects.
	AsExpected int `json:"as_expected"`
	// Refused counts the entries whose event the sensor refused.
	Refused int `json:"refused"`
}

// Summarise builds the report of results, services in catalog order.
func Summarise(catalogName, packsName string, results []Result) Report {
	rep := Report{Catalog: catalogName, Packs: packsName, Total: len(results), Entries: results}
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Entry.Service]
		if !ok {
			i = len(rep.Services)
			index[r.Entry.Service] = i
			rep.Services = append(rep.Services, ServiceSummary{Service: r.Entry.Service, ByHandling: map[string]int{}})
		}
		s := &rep.Services[i]
		s.Total++
		if r.Refused != "" {
			s.Refused++
		}
		if r.Handled {
			s.Handled++
			rep.Handled++
			s.ByHandling[r.Handling]++
		}
		if r.AsExpected {
			s.AsExpected++
		}
	}
	if rep.Total > 0 {
		rep.Share = float64(rep.Handled) / float64(rep.Total)
	}
	return rep
}

// handlingColumns are the handling columns of the table, in order.
var handlingColumns = []string{pack.HandlingAuto, pack.HandlingApproval, pack.HandlingEvidence, HandlingUndeclared}

// WriteEntries prints one line per entry, grouped by service: what matched
// and what its action would do.
func (rep Report) WriteEntries(w io.Writer) {
	service := ""
	for _, r := range rep.Entries {
		if r.Entry.Service != service {
			service = r.Entry.Service
			fmt.Fprintf(w, "%s\n", service)
		}
		fmt.Fprintf(w, "  %s %s (%s, expect %s): %s\n", mark(r), r.Entry.ID, r.Entry.Alert(), r.Entry.Expect, outcome(r))
	}
}

func mark(r Result) string {
	switch {
	case r.Refused != "":
		return "!"
	case r.Handled:
		return "+"
	case len(r.Matches) > 0:
		return "x"
	}
	return "-"
}

func outcome(r Result) string {
	if r.Refused != "" {
		return "event refused by the sensor: " + r.Refused
	}
	if len(r.Matches) == 0 {
		return "no rule matches"
	}
	parts := make([]string, len(r.Matches))
	for i, m := range r.Matches {
		rule := m.Rule
		if m.Backstop {
			rule += " (backstop)"
		}
		if m.Planned() {
			parts[i] = fmt.Sprintf("%s -> %s [%s]", rule, m.Action, m.Handling)
		} else {
			parts[i] = fmt.Sprintf("%s -> %s would NOT start: %s", rule, m.Action, m.Error)
		}
	}
	return strings.Join(parts, "; ")
}

// WriteTable prints handled/total per service and overall, and how the
// handled entries are handled.
func (rep Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "service\thandled\tshare\t%s\tas expected\n", strings.Join(handlingColumns, "\t"))
	total := ServiceSummary{Service: "total", ByHandling: map[string]int{}}
	for _, s := range rep.Services {
		writeRow(tw, s)
		total.Total += s.Total
		total.Handled += s.Handled
		total.AsExpected += s.AsExpected
		for h, n := range s.ByHandling {
			total.ByHandling[h] += n
		}
	}
	writeRow(tw, total)
	tw.Flush()
}

func writeRow(w io.Writer, s ServiceSummary) {
	counts := make([]string, len(handlingColumns))
	for i, h := range handlingColumns {
		counts[i] = fmt.Sprint(s.ByHandling[h])
	}
	fmt.Fprintf(w, "%s\t%d/%d\t%s\t%s\t%d\n", s.Service, s.Handled, s.Total, percent(s.Handled, s.Total), strings.Join(counts, "\t"), s.AsExpected)
}

func percent(n, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(total))
}
