package aslmock

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
)

func call(t *testing.T, m *Mocks, state, resource, input string) (any, error) {
	t.Helper()
	var in any
	if err := json.Unmarshal([]byte(input), &in); err != nil {
		t.Fatal(err)
	}
	return m.Invoke(context.Background(), asl.TaskRequest{StateName: state, Resource: resource, Input: in})
}

func mustMocks(t *testing.T, src string) *Mocks {
	t.Helper()
	m, err := Parse([]byte(src), Selection{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSpecs(t *testing.T) {
	m := mustMocks(t, `{
	  "arn:ret": {"return": {"ok": 1}},
	  "arn:echo": {"echo": true},
	  "arn:merge": {"merge": {"b": 2}},
	  "arn:fail": {"fail": {"error": "Ssm.ThrottlingException", "cause": "slow down"}},
	  "arn:seq": {"sequence": [{"return": 1}, {"fail": {"error": "E"}}, {"return": 3}]},
	  "arn:match": {"match": [{"input": {"target": "i-1"}, "then": {"return": "first"}}, {"input": {"target": "i-2", "n": 2}, "then": {"return": "second"}}], "else": {"return": "other"}},
	  "Special": {"return": "by state name"}
	}`)
	check := func(resource, input, want string) {
		t.Helper()
		got, err := call(t, m, "S", resource, input)
		if err != nil {
			t.Fatalf("%s: %v", resource, err)
		}
		if asJSON(got) != want {
			t.Errorf("%s(%s) = %s, want %s", resource, input, asJSON(got), want)
		}
	}
	check("arn:ret", `{}`, `{"ok":1}`)
	check("arn:echo", `{"a":1}`, `{"a":1}`)
	check("arn:merge", `{"a":1,"b":1}`, `{"a":1,"b":2}`)
	check("arn:match", `{"target":"i-1","extra":true}`, `"first"`)
	check("arn:match", `{"target":"i-2","n":2}`, `"second"`)
	check("arn:match", `{"target":"i-2","n":3}`, `"other"`)

	_, err := call(t, m, "S", "arn:fail", `{}`)
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Ssm.ThrottlingException" || aerr.Cause != "slow down" {
		t.Errorf("fail mock = %v", err)
	}

	var seq []string
	for range 5 {
		v, err := call(t, m, "S", "arn:seq", `{}`)
		seq = append(seq, asJSON(v)+errString(err))
	}
	if want := []string{"1", "nullE", "3", "3", "3"}; !reflect.DeepEqual(seq, want) {
		t.Errorf("sequence = %v, want %v", seq, want)
	}

	if v, _ := call(t, m, "Special", "arn:ret", `{}`); v != "by state name" {
		t.Errorf("a state-name mock should win over the resource: %v", v)
	}
	_, err = call(t, m, "S", "arn:none", `{}`)
	if !errors.As(err, &aerr) || aerr.Name != asl.ErrTaskFailed || !strings.Contains(aerr.Cause, "arn:none") {
		t.Errorf("unmocked resource = %v", err)
	}
	if n := len(m.Calls()); n != 14 {
		t.Errorf("Calls() recorded %d calls, want 14", n)
	}
}

func errString(err error) string {
	var aerr *asl.Error
	if errors.As(err, &aerr) {
		return aerr.Name
	}
	return ""
}

func TestHang(t *testing.T) {
	m := mustMocks(t, `{"arn:h": {"hang": true}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := m.Invoke(ctx, asl.TaskRequest{Resource: "arn:h"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang = %v", err)
	}
}

func TestSFNLocalFormat(t *testing.T) {
	src := `{"StateMachines":{"heal":{"TestCases":{"Happy":{"Poll":"PollOK"},"Sad":{"Poll":"PollBad"}}}},
	  "MockedResponses":{
	    "PollOK":{"0":{"Throw":{"Error":"Ssm.InvocationDoesNotExistException","Cause":"not yet"}},"1-2":{"Return":{"Status":"InProgress"}},"3":{"Return":{"Status":"Success"}}},
	    "PollBad":{"0":{"Return":{"Status":"Failed"}}}}}`
	if _, err := Parse([]byte(src), Selection{}); err == nil || !strings.Contains(err.Error(), "Happy, Sad") {
		t.Errorf("two test cases and no selection should list them, got %v", err)
	}
	m, err := Parse([]byte(src), Selection{Machine: "heal", TestCase: "Happy"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 5 {
		v, err := call(t, m, "Poll", "arn:any", `{}`)
		got = append(got, asJSON(v)+errString(err))
	}
	want := []string{"nullSsm.InvocationDoesNotExistException", `{"Status":"InProgress"}`, `{"Status":"InProgress"}`, `{"Status":"Success"}`, `{"Status":"Success"}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		`[]`:                                              "not a JSON object",
		`{"arn:x": 1}`:                                    "must be an object",
		`{"arn:x": {"retrun": 1}}`:                        `unknown mock field "retrun"`,
		`{"arn:x": {"return": 1, "echo": true}}`:          "exactly one of",
		`{"arn:x": {"fail": {"cause": "c"}}}`:             "arn:x.fail.error: required",
		`{"arn:x": {"sequence": []}}`:                     "non-empty array",
		`{"arn:x": {"match": [{"then": {"return": 1}}]}}`: "match[0].input: required",
		`{"arn:x": {"return": 1, "else": {"return": 2}}}`: `"else" only goes with "match"`,
		`{"StateMachines":{"m":{"TestCases":{"c":{"S":"R"}}}},"MockedResponses":{}}`:                       `no mocked response named "R"`,
		`{"StateMachines":{"m":{"TestCases":{"c":{"S":"R"}}}},"MockedResponses":{"R":{"1":{"Return":1}}}}`: "invocation 0 has no response",
		`{"StateMachines":{"m":{"TestCases":{"c":{"S":"R"}}}},"MockedResponses":{"R":{"x":{"Return":1}}}}`: `bad invocation key "x"`,
		`{"StateMachines":{"m":{"TestCases":{"c":{"S":"R"}}}},"MockedResponses":{"R":{"0":{}}}}`:           "exactly one of Return or Throw",
	} {
		_, err := Parse([]byte(src), Selection{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", src, err, want)
		}
	}
}

// TestRemediationWorkflow runs the repository's remediation workflow end to
// end on mocks: the first poll finds no invocation yet (retried), then the
// command is in progress (waits and polls again), then succeeds.
func TestRemediationWorkflow(t *testing.T) {
	def, err := os.ReadFile("../testdata/remediate.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	machine, err := asl.Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	mocks := mustMocks(t, `{
	  "arn:aws:states:::aws-sdk:ssm:sendCommand": {"return": {"Command": {"CommandId": "cmd-1"}}},
	  "arn:aws:states:::aws-sdk:ssm:getCommandInvocation": {"sequence": [
	    {"fail": {"error": "Ssm.InvocationDoesNotExistException", "cause": "eventual consistency"}},
	    {"return": {"CommandId": "cmd-1", "Status": "InProgress", "ResponseCode": -1, "StandardOutputContent": "", "StandardErrorContent": ""}},
	    {"return": {"CommandId": "cmd-1", "Status": "Success", "ResponseCode": 0, "StandardOutputContent": "ok", "StandardErrorContent": ""}}]}
	}`)
	input := map[string]any{"target": "i-0abc", "commands": map[string]any{"diagnose": "uptime", "remediate": "systemctl restart app", "verify": "curl -f localhost"},
		"timeout_seconds": 60, "poll_seconds": 5, "max_attempts": 2, "retry": map[string]any{"attempt": 1}, "results": map[string]any{}, "notify": map[string]any{}}
	out, err := machine.Run(context.Background(), input, asl.Options{Tasks: mocks, Clock: asl.NewVirtualClock(time.Unix(0, 0)), ExecutionName: "run-7"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	results := out.(map[string]any)["results"].(map[string]any)
	if v := results["verify"].(map[string]any)["status"]; v != "Success" {
		t.Errorf("verify status = %v", v)
	}
	first := mocks.Calls()[0].Input.(map[string]any)
	if first["Comment"] != "medic diagnose run-7" || !reflect.DeepEqual(first["InstanceIds"], []any{"i-0abc"}) {
		t.Errorf("sendCommand input = %v", asJSON(first))
	}
	if et := first["Parameters"].(map[string]any)["executionTimeout"]; !reflect.DeepEqual(et, []any{"60"}) {
		t.Errorf("executionTimeout = %v", et)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"arn:x": {"sequence": [{"return": 1}, {"match": [{"input": {"a": 1}, "then": {"echo": true}}], "else": {"hang": true}}]}}`,
		`{"S": {"merge": {"a": 1}}, "arn:y": {"fail": {"error": "E", "cause": "C"}}}`,
		`{"StateMachines":{"m":{"TestCases":{"c":{"S":"R"}}}},"MockedResponses":{"R":{"0-1":{"Return":1},"2":{"Throw":{"Error":"E"}}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, Selection{})
		if err != nil {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // so a hang mock returns at once
		for _, key := range append(sortedKeys(m.byState), sortedKeys(m.byResource)...) {
			m.Invoke(ctx, asl.TaskRequest{StateName: key, Resource: key, Input: map[string]any{"a": 1.0}})
		}
	})
}

// approvalMachine asks for an approval by callback, with a long timeout: a
// mocked answer must complete it at once, as in Step Functions Local, not
// leave it waiting for a callback nobody sends.
const approvalMachine = `{"StartAt":"Ask","States":{
  "Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","TimeoutSeconds":3600,
    "Parameters":{"FunctionName":"approve","Payload":{"token.$":"$$.Task.Token"}},"ResultPath":"$.approval","Next":"Approved?"},
  "Approved?":{"Type":"Choice","Choices":[{"Variable":"$.approval.approved","BooleanEquals":true,"Next":"Done"}],"Default":"Rejected"},
  "Done":{"Type":"Succeed"},
  "Rejected":{"Type":"Fail","Error":"Medic.Rejected"}}}`

func TestMockedCallbackTaskCompletesWithItsMock(t *testing.T) {
	machine, err := asl.Parse([]byte(approvalMachine))
	if err != nil {
		t.Fatal(err)
	}
	for name, mocksFile := range map[string]string{
		"medic":      `{"Ask": {"return": {"approved": true, "by": "alice"}}}`,
		"sfn-local":  `{"StateMachines":{"m":{"TestCases":{"c":{"Ask":"Yes"}}}},"MockedResponses":{"Yes":{"0":{"Return":{"approved":true,"by":"alice"}}}}}`,
		"real-clock": `{"Ask": {"return": {"approved": true, "by": "alice"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			opts := asl.Options{Tasks: mustMocks(t, mocksFile), Clock: asl.NewVirtualClock(time.Unix(0, 0))}
			if name == "real-clock" {
				opts.Clock = nil // a wait for the callback would last the test's whole timeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := machine.Run(ctx, map[string]any{"change": "restart"}, opts)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := asJSON(out); got != `{"approval":{"approved":true,"by":"alice"},"change":"restart"}` {
				t.Fatalf("output %s", got)
			}
		})
	}
	// A mocked error still fails the callback task with that error.
	_, err = machine.Run(context.Background(), map[string]any{}, asl.Options{
		Tasks: mustMocks(t, `{"Ask": {"fail": {"error": "Medic.ApprovalRejected", "cause": "no"}}}`), Clock: asl.NewVirtualClock(time.Unix(0, 0))})
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.ApprovalRejected" {
		t.Fatalf("want Medic.ApprovalRejected, got %v", err)
	}
}
