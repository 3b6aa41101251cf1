package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// Each rule's evaluation is logged with its explanation at Debug only: at
// Info nothing is written (building every rule's explanation for a record
// the level drops was most of a no-match trigger's CPU), at Debug the
// explanation is there.
func TestRuleEvaluationLoggedAtDebugOnly(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		e, _ := newEngine(t)
		var buf bytes.Buffer
		e.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		e.Handle(context.Background(), diskAlarm("evt-log-"+level.String(), "OK"))
		logged := strings.Contains(buf.String(), "rule evaluated")
		if logged != (level == slog.LevelDebug) {
			t.Fatalf("level %s: rule evaluations logged = %v:\n%s", level, logged, buf.String())
		}
		if level == slog.LevelDebug && !strings.Contains(buf.String(), "explain=") {
			t.Fatalf("debug record without its explanation:\n%s", buf.String())
		}
	}
}

// The explanation is not built when the level drops the record: handling
// a no-match trigger allocates far less than building every rule's
// Explain would.
func TestRuleExplanationNotBuiltAtInfo(t *testing.T) {
	e, _ := newEngine(t)
	e.Log = slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tr := diskAlarm("evt-x", "OK")
	handle := testing.AllocsPerRun(20, func() { e.Handle(context.Background(), tr) })
	evals := e.Rules.Evaluate(tr, e.KV)
	explain := testing.AllocsPerRun(20, func() {
		for _, ev := range evals {
			_ = ev.Explain()
		}
	})
	if handle >= explain {
		t.Fatalf("Handle allocates %.0f per trigger, building the explanations alone %.0f: they are built for nothing", handle, explain)
	}
}
