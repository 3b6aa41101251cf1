package asl

import (
	"context"
	"os"
	"testing"
)

// Run with: go test -run '^$' -bench . -benchmem ./internal/asl/
// Results and the aws-local-stepfunctions comparison: docs/benchmarks-asl.md.

func benchInput(items int) map[string]any {
	list := make([]any, items)
	for i := range list {
		list[i] = float64(i)
	}
	return map[string]any{"n": float64(items), "items": list}
}

// benchMachine runs testdata/bench/NAME once to count its transitions, then
// b.N times, reporting state transitions per second.
func benchMachine(b *testing.B, name string) {
	def, err := os.ReadFile("testdata/bench/" + name)
	if err != nil {
		b.Fatal(err)
	}
	m := mustParse(b, string(def))
	input := benchInput(1000)
	transitions := 0
	if _, err := m.Run(context.Background(), input, Options{Observer: func(e Event) {
		if e.Type == StateEntered {
			transitions++
		}
	}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Run(context.Background(), input, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(transitions)*float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	b.ReportMetric(float64(transitions), "transitions/op")
}

func BenchmarkChoiceLoop1000(b *testing.B) { benchMachine(b, "choice-loop.asl.json") }
func BenchmarkMap1000(b *testing.B)        { benchMachine(b, "map-items.asl.json") }

func TestBenchMachinesProduceTheirResults(t *testing.T) {
	for name, want := range map[string]string{
		"choice-loop.asl.json": `{"i":1000,"n":1000}`,
		"map-items.asl.json":   `{"count":1000}`,
	} {
		def, err := os.ReadFile("testdata/bench/" + name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := mustParse(t, string(def)).Run(context.Background(), benchInput(1000), Options{})
		wantOutput(t, out, err, want)
	}
}
