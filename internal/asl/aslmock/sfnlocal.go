package aslmock

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// parseSFNLocal reads the AWS Step Functions Local MockConfigFile format:
//
//	{"StateMachines": {"M": {"TestCases": {"Happy": {"State": "ResponseName"}}}},
//	 "MockedResponses": {"ResponseName": {"0": {"Return": X}, "1-2": {"Throw": {"Error": E, "Cause": C}}}}}
//
// Invocations are counted per state from 0; after the last range the last
// response repeats.
func parseSFNLocal(raw map[string]any, sel Selection) (*Mocks, error) {
	machines, ok := raw["StateMachines"].(map[string]any)
	if !ok || len(machines) == 0 {
		return nil, fmt.Errorf("mocks: StateMachines: required, an object of state machines")
	}
	responses, ok := raw["MockedResponses"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("mocks: MockedResponses: must be an object")
	}
	machineName, err := pick("state machine", sel.Machine, machines)
	if err != nil {
		return nil, err
	}
	machine, _ := machines[machineName].(map[string]any)
	cases, _ := machine["TestCases"].(map[string]any)
	if len(cases) == 0 {
		return nil, fmt.Errorf("mocks: StateMachines.%s.TestCases: required, an object of test cases", machineName)
	}
	caseName, err := pick("test case", sel.TestCase, cases)
	if err != nil {
		return nil, err
	}
	testCase, ok := cases[caseName].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("mocks: test case %q must map state names to mocked response names", caseName)
	}
	m := &Mocks{byState: map[string]*Spec{}, byResource: map[string]*Spec{}}
	for _, state := range sortedKeys(testCase) {
		respName, _ := testCase[state].(string)
		resp, ok := responses[respName].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("mocks: test case %q, state %q: no mocked response named %q", caseName, state, respName)
		}
		spec, err := parseResponse(respName, resp)
		if err != nil {
			return nil, err
		}
		m.byState[state] = spec
	}
	return m, nil
}

// pick selects name from options, or the only option when name is empty.
func pick(what, name string, options map[string]any) (string, error) {
	if name != "" {
		if _, ok := options[name]; !ok {
			return "", fmt.Errorf("mocks: no %s named %q (have %s)", what, name, strings.Join(sortedKeys(options), ", "))
		}
		return name, nil
	}
	if len(options) != 1 {
		return "", fmt.Errorf("mocks: the file has several of %s: choose one of %s", what, strings.Join(sortedKeys(options), ", "))
	}
	return sortedKeys(options)[0], nil
}

// parseResponse turns {"0": ..., "1-2": ...} into a sequence spec.
func parseResponse(name string, resp map[string]any) (*Spec, error) {
	type ranged struct {
		from, to int
		spec     *Spec
	}
	var ranges []ranged
	for _, key := range sortedKeys(resp) {
		from, to, err := parseRange(key)
		if err != nil {
			return nil, fmt.Errorf("mocks: MockedResponses.%s: %v", name, err)
		}
		where := fmt.Sprintf("MockedResponses.%s.%s", name, key)
		obj, ok := resp[key].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("mocks: %s: must be {\"Return\": ...} or {\"Throw\": ...}", where)
		}
		var spec *Spec
		switch {
		case hasKey(obj, "Return") && !hasKey(obj, "Throw"):
			spec = &Spec{kind: "return", value: obj["Return"]}
		case hasKey(obj, "Throw") && !hasKey(obj, "Return"):
			if spec, err = parseFail(obj["Throw"], "mocks: "+where+".Throw", "Error", "Cause"); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("mocks: %s: needs exactly one of Return or Throw", where)
		}
		ranges = append(ranges, ranged{from, to, spec})
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].from < ranges[j].from })
	seq := &Spec{kind: "sequence"}
	for _, r := range ranges {
		if r.from != len(seq.sequence) {
			return nil, fmt.Errorf("mocks: MockedResponses.%s: invocation %d has no response (ranges must cover 0, 1, 2, ... without gaps or overlaps)", name, len(seq.sequence))
		}
		for i := r.from; i <= r.to; i++ {
			seq.sequence = append(seq.sequence, r.spec)
		}
	}
	if len(seq.sequence) == 0 {
		return nil, fmt.Errorf("mocks: MockedResponses.%s: no responses", name)
	}
	return seq, nil
}

func parseRange(key string) (int, int, error) {
	lo, hi, isRange := strings.Cut(key, "-")
	from, err1 := strconv.Atoi(lo)
	to := from
	var err2 error
	if isRange {
		to, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || from < 0 || to < from || to > 10000 {
		return 0, 0, fmt.Errorf("bad invocation key %q (want \"0\" or a range such as \"1-3\")", key)
	}
	return from, to, nil
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
