package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// workflowCLI runs "medic workflow ..." in-process with files written to a
// temporary directory; "@name" arguments are replaced by their paths.
func workflowCLI(t *testing.T, files map[string]string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range args {
		if strings.HasPrefix(a, "@") {
			args[i] = filepath.Join(dir, a[1:])
		}
	}
	var stdout, stderr bytes.Buffer
	code := dispatch(append([]string{"workflow"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const pollMachine = `{"StartAt":"Send","States":{
  "Send":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:ssm:sendCommand","Parameters":{"InstanceIds.$":"States.Array($.target)"},
    "ResultSelector":{"id.$":"$.Command.CommandId"},"ResultPath":"$.cmd","Next":"Wait"},
  "Wait":{"Type":"Wait","Seconds":30,"Next":"Poll"},
  "Poll":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:ssm:getCommandInvocation","Parameters":{"CommandId.$":"$.cmd.id","InstanceId.$":"$.target"},
    "ResultSelector":{"status.$":"$.Status"},"ResultPath":"$.poll","Next":"Done?"},
  "Done?":{"Type":"Choice","Choices":[{"Variable":"$.poll.status","StringEquals":"InProgress","Next":"Wait"},
    {"Variable":"$.poll.status","StringEquals":"Success","Next":"Ok"}],"Default":"Broken"},
  "Ok":{"Type":"Pass","Parameters":{"healed.$":"$.target","by.$":"$$.Execution.Name","env.$":"$$.Env"},"End":true},
  "Broken":{"Type":"Fail","Error":"Medic.RemediationFailed","CausePath":"States.Format('status {}', $.poll.status)"}}}`

const pollMocks = `{"arn:aws:states:::aws-sdk:ssm:sendCommand":{"return":{"Command":{"CommandId":"c-1"}}},
  "arn:aws:states:::aws-sdk:ssm:getCommandInvocation":{"sequence":[{"return":{"Status":"InProgress"}},{"return":{"Status":"Success"}}]}}`

func TestWorkflowRunSucceeds(t *testing.T) {
	code, out, errOut := workflowCLI(t, map[string]string{
		"heal.asl.json": pollMachine, "in.json": `{"target":"i-1"}`, "mocks.json": pollMocks, "ctx.json": `{"Env":"test"}`,
	}, "run", "@heal.asl.json", "--input", "@in.json", "--mocks", "@mocks.json", "--context", "@ctx.json", "--trace", "--name", "e-1")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %q", out)
	}
	if got["healed"] != "i-1" || got["by"] != "e-1" || got["env"] != "test" {
		t.Errorf("output = %v", got)
	}
	for _, want := range []string{"→ Send input=", "← Poll output=", "Send task result=", "ExecutionSucceeded"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("trace lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Count(errOut, "→ Poll") != 2 {
		t.Errorf("want two polls in the trace:\n%s", errOut)
	}
}

func TestWorkflowRunFails(t *testing.T) {
	files := map[string]string{"heal.asl.json": pollMachine, "in.json": `{"target":"i-1"}`,
		"mocks.json": `{"arn:aws:states:::aws-sdk:ssm:sendCommand":{"return":{"Command":{"CommandId":"c-1"}}},
		  "arn:aws:states:::aws-sdk:ssm:getCommandInvocation":{"return":{"Status":"Failed"}}}`}
	code, out, _ := workflowCLI(t, files, "run", "@heal.asl.json", "--input", "@in.json", "--mocks", "@mocks.json")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var got map[string]string
	json.Unmarshal([]byte(out), &got)
	if got["error"] != "Medic.RemediationFailed" || got["cause"] != "status Failed" {
		t.Errorf("output = %q", out)
	}

	// No mocks at all: the first task fails naming its resource.
	code, out, _ = workflowCLI(t, files, "run", "@heal.asl.json", "--input", "@in.json")
	if code != 1 || !strings.Contains(out, "States.TaskFailed") || !strings.Contains(out, "ssm:sendCommand") {
		t.Errorf("exit %d, output %s", code, out)
	}
}

func TestWorkflowRunTimeoutOnHang(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:slow","TimeoutSeconds":600,"End":true}}}`
	code, out, _ := workflowCLI(t, map[string]string{"d.json": def, "m.json": `{"arn:slow":{"hang":true}}`}, "run", "@d.json", "--mocks", "@m.json")
	if code != 1 || !strings.Contains(out, "States.Timeout") {
		t.Errorf("exit %d, output %s", code, out)
	}
}

func TestWorkflowRunSFNLocalMocks(t *testing.T) {
	mocks := `{"StateMachines":{"heal":{"TestCases":{
	    "Happy":{"Send":"SendOK","Poll":"PollOK"},
	    "Sad":{"Send":"SendOK","Poll":"PollThrottled"}}}},
	  "MockedResponses":{
	    "SendOK":{"0":{"Return":{"Command":{"CommandId":"c-9"}}}},
	    "PollOK":{"0":{"Return":{"Status":"Success"}}},
	    "PollThrottled":{"0-9":{"Throw":{"Error":"Ssm.ThrottlingException","Cause":"rate"}}}}}`
	files := map[string]string{"heal.asl.json": pollMachine, "in.json": `{"target":"i-2"}`, "mocks.json": mocks, "ctx.json": `{"Env":"x"}`}
	code, out, errOut := workflowCLI(t, files, "run", "@heal.asl.json", "--input", "@in.json", "--mocks", "@mocks.json", "--test-case", "heal/Happy", "--context", "@ctx.json")
	if code != 0 || !strings.Contains(out, `"healed": "i-2"`) {
		t.Errorf("Happy: exit %d, out %s, err %s", code, out, errOut)
	}
	code, out, _ = workflowCLI(t, files, "run", "@heal.asl.json", "--input", "@in.json", "--mocks", "@mocks.json", "--test-case", "Sad")
	if code != 1 || !strings.Contains(out, "Ssm.ThrottlingException") {
		t.Errorf("Sad: exit %d, out %s", code, out)
	}
}

// A mocked .waitForTaskToken task completes with its mock (as in Step
// Functions Local) instead of waiting out its timeout, virtual or real.
func TestWorkflowRunMockedCallbackTask(t *testing.T) {
	def := `{"StartAt":"Ask","States":{
	  "Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","TimeoutSeconds":20,
	    "Parameters":{"FunctionName":"approve","Payload":{"token.$":"$$.Task.Token"}},"ResultPath":"$.approval","End":true}}}`
	sfnLocal := `{"StateMachines":{"approve":{"TestCases":{"Yes":{"Ask":"Approved"}}}},
	  "MockedResponses":{"Approved":{"0":{"Return":{"approved":true}}}}}`
	files := map[string]string{"approve.asl.json": def, "in.json": `{"change":"restart"}`, "sfn.json": sfnLocal,
		"medic.json": `{"arn:aws:states:::lambda:invoke.waitForTaskToken":{"return":{"approved":true}}}`}
	for _, args := range [][]string{
		{"run", "@approve.asl.json", "--input", "@in.json", "--mocks", "@sfn.json"},
		{"run", "@approve.asl.json", "--input", "@in.json", "--mocks", "@medic.json", "--real-time"},
	} {
		start := time.Now()
		code, out, errOut := workflowCLI(t, files, args...)
		if code != 0 || !strings.Contains(out, `"approved": true`) || time.Since(start) > 5*time.Second {
			t.Errorf("%v: exit %d after %s, out %s, err %s", args, code, time.Since(start), out, errOut)
		}
	}
}

// The input file's key order reaches States.JsonToString, and the output
// is printed in its own order, as Step Functions shows it.
func TestWorkflowRunKeepsKeyOrder(t *testing.T) {
	def := `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{
	  "text.$":"States.JsonToString($.alarm)","zone.$":"$.alarm.zone","alarm.$":"$.alarm"},"End":true}}}`
	in := `{"alarm":{"zone":"b","dims":{"Path":"/","InstanceId":"i-1"},"at":"<now>"}}`
	code, out, errOut := workflowCLI(t, map[string]string{"d.json": def, "in.json": in}, "run", "@d.json", "--input", "@in.json")
	want := `{
  "text": "{\"zone\":\"b\",\"dims\":{\"Path\":\"/\",\"InstanceId\":\"i-1\"},\"at\":\"<now>\"}",
  "zone": "b",
  "alarm": {
    "zone": "b",
    "dims": {
      "Path": "/",
      "InstanceId": "i-1"
    },
    "at": "<now>"
  }
}
`
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %s, output\n%s\nwant\n%s", code, errOut, out, want)
	}
}

func TestWorkflowRunUsageAndParseErrors(t *testing.T) {
	bad := `{"StartAt":"Poll","States":{"Poll":{"Type":"Pass","Next":"Missing"}}}`
	cases := []struct {
		files map[string]string
		args  []string
		want  string
	}{
		{nil, []string{}, "Usage: medic workflow run"},
		{nil, []string{"walk"}, "Usage: medic workflow run"},
		{nil, []string{"run"}, "want exactly one DEFINITION"},
		{nil, []string{"run", "--bogus"}, "flag provided but not defined"},
		{map[string]string{"bad.asl.json": bad}, []string{"run", "@bad.asl.json"}, `bad.asl.json: state "Poll": field "Next": no state named "Missing"`},
		{map[string]string{"d.json": pollMachine, "m.json": `{"arn:x":{"retrun":1}}`}, []string{"run", "@d.json", "--mocks", "@m.json"}, `m.json: mocks: arn:x: unknown mock field "retrun"`},
		{map[string]string{"d.json": pollMachine, "i.json": `{nope`}, []string{"run", "@d.json", "--input", "@i.json"}, "i.json: not valid JSON"},
		{map[string]string{"d.json": pollMachine, "c.json": `[1]`}, []string{"run", "@d.json", "--context", "@c.json"}, "must hold a JSON object"},
		{map[string]string{"d.json": pollMachine}, []string{"run", "@d.json", "--input", "@missing.json"}, "no such file"},
	}
	for _, c := range cases {
		code, _, errOut := workflowCLI(t, c.files, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestWorkflowRunSubstitutions(t *testing.T) {
	def := `{"StartAt":"N","States":{"N":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"${NotifyFunctionArn}"},"End":true}}}`
	files := map[string]string{"d.json": def, "m.json": `{"arn:aws:states:::lambda:invoke":{"echo":true}}`}
	code, out, errOut := workflowCLI(t, files, "run", "@d.json", "--mocks", "@m.json", "--subst", "NotifyFunctionArn=arn:aws:lambda:us-east-1:1:function:notify")
	if code != 0 || !strings.Contains(out, `"FunctionName": "arn:aws:lambda:us-east-1:1:function:notify"`) {
		t.Errorf("exit %d, out %s, err %s", code, out, errOut)
	}
	if code, _, errOut := workflowCLI(t, files, "run", "@d.json", "--subst", "novalue"); code != 2 || !strings.Contains(errOut, "want NAME=VALUE") {
		t.Errorf("bad --subst: exit %d, %s", code, errOut)
	}
}

// --trace shows what each state assigned to workflow variables.
func TestWorkflowTraceShowsAssignments(t *testing.T) {
	machine := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"host.$":"$.host","attempts":0},"Next":"Done"},
	  "Done":{"Type":"Pass","Parameters":{"on.$":"$host"},"End":true}}}`
	code, out, errOut := workflowCLI(t, map[string]string{"m.asl.json": machine, "in.json": `{"host":"i-9"}`},
		"run", "@m.asl.json", "--input", "@in.json", "--trace")
	if code != 0 || !strings.Contains(out, `"on":"i-9"`) && !strings.Contains(out, `"on": "i-9"`) {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, `Init assigned {"attempts":0,"host":"i-9"}`) {
		t.Fatalf("trace lacks the assignment:\n%s", errOut)
	}
}
