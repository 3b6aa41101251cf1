package asl

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// mustParse parses a definition written as a JSON string.
func mustParse(t testing.TB, def string) *Machine {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// j parses a JSON literal for expectations and inputs.
func j(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test %q: %v", s, err)
	}
	return v
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) observe(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) types(state string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if state == "" || e.State == state {
			out = append(out, e.Type)
		}
	}
	return out
}

// runJSON runs def on input (JSON text) with a virtual clock.
func runJSON(t testing.TB, def, input string, tasks TaskHandler) (any, error) {
	t.Helper()
	m := mustParse(t, def)
	return m.Run(context.Background(), j(t, input), Options{Tasks: tasks, Clock: NewVirtualClock(epoch), ExecutionName: "exec-1"})
}

func wantOutput(t testing.TB, got any, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if w := j(t, want); !reflect.DeepEqual(got, w) {
		gb, _ := json.Marshal(got)
		t.Fatalf("output\n got %s\nwant %s", gb, want)
	}
}

func wantError(t testing.TB, err error, name string) *Error {
	t.Helper()
	var aerr *Error
	if !errors.As(err, &aerr) {
		t.Fatalf("want *Error %s, got %v", name, err)
	}
	if aerr.Name != name {
		t.Fatalf("want error %s, got %s (%s)", name, aerr.Name, aerr.Cause)
	}
	return aerr
}

// echo returns the task input as its result.
var echo = TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) { return req.Input, nil })
