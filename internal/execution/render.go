package execution

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Render writes the record as a readable timeline:
// alert → rule → workflow steps → outcome.
func Render(w io.Writer, rec *Record) {
	fmt.Fprintf(w, "execution %s  [%s]\n", rec.ID, rec.Status)
	fmt.Fprintf(w, "  rule %s → action %s → workflow %s\n", rec.Rule, rec.Action, rec.StateMachine)
	for _, s := range rec.Timeline {
		RenderStep(w, rec.Started, s)
	}
}

// RenderStep writes one timeline line, timed relative to start.
func RenderStep(w io.Writer, start time.Time, s Step) {
	offset := s.Time.Sub(start).Round(time.Millisecond)
	line := fmt.Sprintf("  %+9s  %-7s %s", fmtOffset(offset), s.Kind, s.Name)
	if s.Detail != "" {
		line += ": " + indentDetail(s.Detail)
	}
	fmt.Fprintln(w, line)
}

func fmtOffset(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return "+" + d.String()
}

// indentDetail keeps multi-line output (command stdout) aligned under its step.
func indentDetail(s string) string {
	s = strings.TrimRight(s, "\n")
	return strings.ReplaceAll(s, "\n", "\n                     ")
}

// Summary is the one-line form used by `medic executions list`.
func Summary(rec *Record) string {
	dur := "running"
	if rec.Status.Done() {
		dur = rec.Stopped.Sub(rec.Started).Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%-60s %-9s %-28s %s  %s", rec.ID, rec.Status, rec.Action, rec.Started.Format(time.RFC3339), dur)
}
