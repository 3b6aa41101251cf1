// Package aslmock answers Task states from a mocks file, for `medic workflow
// run --mocks` and for tests. Two formats are read:
//
// Medic's own: an object whose keys are Task Resource ARNs (or state names,
// which win over ARNs) and whose values are specs:
//
//	{"return": X}                       the result is X
//	{"echo": true}                      the result is the task input
//	{"merge": {...}}                    the task input (an object) with these fields set
//	{"fail": {"error": E, "cause": C}}  raise the named error
//	{"sequence": [spec, ...]}           the n-th call uses the n-th spec; the last repeats
//	{"match": [{"input": J, "then": spec}], "else": spec}
//	                                    the first case whose J is contained in the input
//	{"hang": true}                      never answer (until the task times out)
//
// And the AWS Step Functions Local MockConfigFile (StateMachines / TestCases /
// MockedResponses with "0" and "1-2" style invocation ranges, Return/Throw),
// keyed by state name.
package aslmock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/medic-sre/medic/internal/asl"
)

// Spec is one mocked behaviour.
type Spec struct {
	kind     string // return, echo, merge, fail, sequence, match, hang
	value    any
	merge    map[string]any
	err      *asl.Error
	sequence []*Spec
	cases    []matchCase
	orElse   *Spec

	mu    sync.Mutex
	calls int // for sequence
}

type matchCase struct {
	input any
	then  *Spec
}

// Mocks is a TaskHandler answering from mock specs.
type Mocks struct {
	byState    map[string]*Spec
	byResource map[string]*Spec
	mu         sync.Mutex
	calls      []asl.TaskRequest
}

// Selection picks the machine and test case of a Step Functions Local
// MockConfigFile; empty fields are fine when the file has only one.
type Selection struct{ Machine, TestCase string }

// Parse reads a mocks file in either format.
func Parse(data []byte, sel Selection) (*Mocks, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("mocks: not a JSON object: %v", err)
	}
	if _, ok := raw["MockedResponses"]; ok {
		return parseSFNLocal(raw, sel)
	}
	m := &Mocks{byState: map[string]*Spec{}, byResource: map[string]*Spec{}}
	for _, key := range sortedKeys(raw) {
		spec, err := parseSpec(raw[key], key)
		if err != nil {
			return nil, fmt.Errorf("mocks: %w", err)
		}
		if strings.HasPrefix(key, "arn:") {
			m.byResource[key] = spec
		} else {
			m.byState[key] = spec
		}
	}
	return m, nil
}

func parseSpec(v any, where string) (*Spec, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a mock spec must be an object such as {\"return\": ...}", where)
	}
	known := []string{"return", "echo", "merge", "fail", "sequence", "match", "hang"}
	var kinds []string
	for _, k := range sortedKeys(obj) {
		switch {
		case contains(known, k):
			kinds = append(kinds, k)
		case k == "else" || k == "comment":
		default:
			return nil, fmt.Errorf("%s: unknown mock field %q (want one of %s)", where, k, strings.Join(known, ", "))
		}
	}
	if len(kinds) != 1 {
		return nil, fmt.Errorf("%s: a mock spec needs exactly one of %s, has %v", where, strings.Join(known, ", "), kinds)
	}
	s := &Spec{kind: kinds[0]}
	if _, hasElse := obj["else"]; hasElse && s.kind != "match" {
		return nil, fmt.Errorf("%s: \"else\" only goes with \"match\"", where)
	}
	switch s.kind {
	case "return":
		s.value = obj["return"]
	case "echo", "hang":
		if b, ok := obj[s.kind].(bool); !ok || !b {
			return nil, fmt.Errorf("%s.%s: must be true", where, s.kind)
		}
	case "merge":
		m, ok := obj["merge"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s.merge: must be an object", where)
		}
		s.merge = m
	case "fail":
		return parseFail(obj["fail"], where+".fail", "error", "cause")
	case "sequence":
		items, ok := obj["sequence"].([]any)
		if !ok || len(items) == 0 {
			return nil, fmt.Errorf("%s.sequence: must be a non-empty array of specs", where)
		}
		for i, item := range items {
			sub, err := parseSpec(item, fmt.Sprintf("%s.sequence[%d]", where, i))
			if err != nil {
				return nil, err
			}
			s.sequence = append(s.sequence, sub)
		}
	case "match":
		return parseMatch(obj, where)
	}
	return s, nil
}

func parseFail(v any, where, errKey, causeKey string) (*Spec, error) {
	f, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: must be an object with %q and %q", where, errKey, causeKey)
	}
	name, _ := f[errKey].(string)
	if name == "" {
		return nil, fmt.Errorf("%s.%s: required, the error name", where, errKey)
	}
	cause, _ := f[causeKey].(string)
	return &Spec{kind: "fail", err: &asl.Error{Name: name, Cause: cause}}, nil
}

func parseMatch(obj map[string]any, where string) (*Spec, error) {
	s := &Spec{kind: "match"}
	cases, ok := obj["match"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s.match: must be an array of {\"input\": ..., \"then\": spec}", where)
	}
	for i, c := range cases {
		cw := fmt.Sprintf("%s.match[%d]", where, i)
		co, ok := c.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: must be an object", cw)
		}
		then, err := parseSpec(co["then"], cw+".then")
		if err != nil {
			return nil, err
		}
		if _, ok := co["input"]; !ok {
			return nil, fmt.Errorf("%s.input: required", cw)
		}
		s.cases = append(s.cases, matchCase{input: co["input"], then: then})
	}
	if e, ok := obj["else"]; ok {
		sub, err := parseSpec(e, where+".else")
		if err != nil {
			return nil, err
		}
		s.orElse = sub
	}
	return s, nil
}

// Invoke implements asl.TaskHandler.
func (m *Mocks) Invoke(ctx context.Context, req asl.TaskRequest) (any, error) {
	m.mu.Lock()
	m.calls = append(m.calls, req)
	m.mu.Unlock()
	spec, ok := m.byState[req.StateName]
	if !ok {
		spec, ok = m.byResource[req.Resource]
	}
	if !ok {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("no mock for resource %q (state %q)", req.Resource, req.StateName)}
	}
	out, err := spec.answer(ctx, req)
	if err == nil && req.TaskToken != "" {
		// A mocked callback task completes with its mock, as in Step
		// Functions Local, instead of waiting for a callback nobody sends.
		return asl.TaskCompleted{Output: out}, nil
	}
	return out, err
}

// Calls returns the requests seen so far, in order.
func (m *Mocks) Calls() []asl.TaskRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]asl.TaskRequest(nil), m.calls...)
}

func (s *Spec) answer(ctx context.Context, req asl.TaskRequest) (any, error) {
	switch s.kind {
	case "return":
		return s.value, nil // the interpreter copies results
	case "echo":
		return req.Input, nil
	case "merge":
		in, ok := req.Input.(map[string]any)
		if !ok {
			return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: "merge mock: the task input is not an object"}
		}
		out := make(map[string]any, len(in)+len(s.merge))
		for k, v := range in {
			out[k] = v
		}
		for k, v := range s.merge {
			out[k] = v
		}
		return out, nil
	case "fail":
		return nil, &asl.Error{Name: s.err.Name, Cause: s.err.Cause}
	case "sequence":
		s.mu.Lock()
		i := min(s.calls, len(s.sequence)-1)
		s.calls++
		s.mu.Unlock()
		return s.sequence[i].answer(ctx, req)
	case "match":
		for _, c := range s.cases {
			if contained(c.input, req.Input) {
				return c.then.answer(ctx, req)
			}
		}
		if s.orElse != nil {
			return s.orElse.answer(ctx, req)
		}
		b, _ := json.Marshal(req.Input)
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("no mock case matches the input %s of %q", b, req.StateName)}
	default: // hang
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

// contained reports whether want is part of got: objects match when every
// field of want matches, anything else must be equal.
func contained(want, got any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(normalizeNumber(want), normalizeNumber(got))
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		gv, ok := gm[k]
		if !ok || !contained(wv, gv) {
			return false
		}
	}
	return true
}

func normalizeNumber(v any) any {
	if i, ok := v.(int); ok {
		return float64(i)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// None returns mocks that answer nothing: every task fails with
// States.TaskFailed naming its resource.
func None() *Mocks { return &Mocks{byState: map[string]*Spec{}, byResource: map[string]*Spec{}} }
