package asl

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Workflow variables in JSONPath states, as the Step Functions guide
// describes them ("Passing data between states with variables",
// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
// Cases marked "LocalStack" mirror the AWS-recorded scenarios of
// localstack/localstack tests/aws/services/stepfunctions/templates/assign.

// Assign values: literals as they stand, "name.$" paths into $ (the state
// result), $$ and intrinsics (LocalStack BASE_CONSTANT_LITERALS, BASE_PATHS).
func TestAssignLiteralsPathsAndIntrinsics(t *testing.T) {
	def := `{"StartAt":"Set","States":{
	  "Set":{"Type":"Pass","Assign":{"lit":{"a":[1,"$.not_a_path"]},"root.$":"$","one.$":"$.input_value",
	      "exec.$":"$$.Execution.Name","fmt.$":"States.Format('Format Func {}', $.input_value)"},"Next":"Use"},
	  "Use":{"Type":"Pass","Parameters":{"lit.$":"$lit","root.$":"$root","one.$":"$one","exec.$":"$exec","fmt.$":"$fmt","deep.$":"$lit.a[0]"},"End":true}}}`
	out, err := runJSON(t, def, `{"input_value":"v"}`, nil)
	wantOutput(t, out, err, `{"lit":{"a":[1,"$.not_a_path"]},"root":{"input_value":"v"},"one":"v","exec":"exec-1",
	  "fmt":"Format Func v","deep":1}`)
}

// Variables are read in InputPath and OutputPath too (LocalStack
// BASE_REFERENCE_IN_INPUTPATH, BASE_REFERENCE_IN_OUTPUTPATH), and a Pass
// state's Assign sees its Result as $ (BASE_ASSIGN_FROM_RESULT).
func TestVariablesInInputAndOutputPath(t *testing.T) {
	def := `{"StartAt":"S0","States":{
	  "S0":{"Type":"Pass","Result":{"answer":42},"Assign":{"theAnswer.$":"$.answer","box":{"v":7}},"Next":"S1"},
	  "S1":{"Type":"Pass","InputPath":"$theAnswer","ResultPath":"$","Next":"S2"},
	  "S2":{"Type":"Pass","Parameters":{"in.$":"$"},"OutputPath":"$box.v","End":true}}}`
	out, err := runJSON(t, def, `{}`, nil)
	wantOutput(t, out, err, `7`)
}

// All Assign values (and every other field) of a state read the variables
// as they were when the state began: assignments are simultaneous and take
// effect in the next state (LocalStack BASE_EVALUATION_ORDER_PASS_STATE).
func TestAssignmentsAreSimultaneous(t *testing.T) {
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"a":1,"b":2},"Next":"Swap"},
	  "Swap":{"Type":"Pass","Assign":{"a.$":"$b","b.$":"$a"},"Parameters":{"a.$":"$a"},"OutputPath":"$.a","Next":"Show"},
	  "Show":{"Type":"Pass","Parameters":{"before.$":"$","a.$":"$a","b.$":"$b"},"End":true}}}`
	out, err := runJSON(t, def, `{}`, nil)
	wantOutput(t, out, err, `{"before":1,"a":2,"b":1}`)
}

// A Task's Assign sees the result after ResultSelector, before ResultPath
// places it; Parameters read variables (LocalStack BASE_REFERENCE_IN_PARAMETERS,
// BASE_ASSIGN_FROM_LAMBDA_TASK_RESULT).
func TestTaskAssignSeesSelectedResult(t *testing.T) {
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"host":"web-1"},"Next":"Call"},
	  "Call":{"Type":"Task","Resource":"arn:x","Parameters":{"target.$":"$host","n.$":"$.n"},
	    "ResultSelector":{"sel.$":"$.target"},"ResultPath":"$.res",
	    "Assign":{"picked.$":"$.sel","whole.$":"$","input_n.$":"$$.Execution.Input.n"},"Next":"Show"},
	  "Show":{"Type":"Pass","Parameters":{"out.$":"$","picked.$":"$picked","whole.$":"$whole","n.$":"$input_n"},"End":true}}}`
	out, err := runJSON(t, def, `{"n":3}`, echo)
	wantOutput(t, out, err, `{"out":{"n":3,"res":{"sel":"web-1"}},"picked":"web-1","whole":{"sel":"web-1"},"n":3}`)
}

// A Catcher's Assign sees the error output {"Error","Cause"} as $; the
// failed state's own Assign is not applied.
func TestCatchAssignSeesErrorOutput(t *testing.T) {
	def := `{"StartAt":"Call","States":{
	  "Call":{"Type":"Task","Resource":"arn:x","Assign":{"ok":true},
	    "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Assign":{"failure.$":"$.Error","why.$":"$.Cause"},"Next":"Show"}],"End":true},
	  "Show":{"Type":"Pass","Parameters":{"in.$":"$","failure.$":"$failure","why.$":"$why"},"End":true}}}`
	boom := TaskHandlerFunc(func(context.Context, TaskRequest) (any, error) { return nil, &Error{Name: "Ssm.Boom", Cause: "disk"} })
	out, err := runJSON(t, def, `{"a":1}`, boom)
	wantOutput(t, out, err, `{"in":{"a":1,"err":{"Error":"Ssm.Boom","Cause":"disk"}},"failure":"Ssm.Boom","why":"disk"}`)

	withOK := `{"StartAt":"Call","States":{
	  "Call":{"Type":"Task","Resource":"arn:x","Assign":{"ok":true},
	    "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Show"}],"End":true},
	  "Show":{"Type":"Pass","Parameters":{"ok.$":"$ok"},"End":true}}}`
	_, err = runJSON(t, withOK, `{}`, boom)
	if aerr := wantError(t, err, ErrRuntime); !strings.Contains(aerr.Cause, "$ok is not defined") {
		t.Errorf("cause %q should name the variable", aerr.Cause)
	}
}

// Choice: Variable and ...Path operands may be variables; the matched
// rule's Assign applies, and the state-level Assign when the Default is
// taken; $ is the effective input (LocalStack BASE_ASSIGN_IN_CHOICE,
// BASE_REFERENCE_IN_CHOICE).
func TestChoiceVariablesAndAssign(t *testing.T) {
	def := `{"StartAt":"Setup","States":{
	  "Setup":{"Type":"Pass","Assign":{"answer":42},"Next":"Check"},
	  "Check":{"Type":"Choice","InputPath":"$.guess","Choices":[
	      {"Variable":"$","NumericEqualsPath":"$answer","Assign":{"status":"CORRECT"},"Next":"Final"},
	      {"Variable":"$answer","NumericLessThan":0,"Next":"Final"}],
	    "Assign":{"status":"INCORRECT","guessed.$":"$"},"Default":"Final"},
	  "Final":{"Type":"Pass","Parameters":{"status.$":"$status"},"End":true}}}`
	out, err := runJSON(t, def, `{"guess":42}`, nil)
	wantOutput(t, out, err, `{"status":"CORRECT"}`)
	out, err = runJSON(t, def, `{"guess":7}`, nil)
	wantOutput(t, out, err, `{"status":"INCORRECT"}`)
}

// Wait reads SecondsPath from a variable and assigns from its effective
// input (LocalStack BASE_REFERENCE_IN_WAIT, BASE_ASSIGN_IN_WAIT); Fail
// reads ErrorPath/CausePath from variables (BASE_REFERENCE_IN_FAIL).
func TestWaitAndFailReadVariables(t *testing.T) {
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"secs":30,"code":"Medic.Stop"},"Next":"Wait"},
	  "Wait":{"Type":"Wait","SecondsPath":"$secs","InputPath":"$.x","Assign":{"waited.$":"$"},"Next":"Stop"},
	  "Stop":{"Type":"Fail","ErrorPath":"$code","CausePath":"States.Format('waited {}s on {}', $secs, $waited)"}}}`
	clock := NewVirtualClock(epoch)
	_, err := mustParse(t, def).Run(context.Background(), j(t, `{"x":"box"}`), Options{Clock: clock})
	if aerr := wantError(t, err, "Medic.Stop"); aerr.Cause != "waited 30s on box" {
		t.Errorf("cause %q", aerr.Cause)
	}
	if got := clock.Now().Sub(epoch); got.Seconds() != 30 {
		t.Errorf("waited %s, want 30s", got)
	}
}

// Map iterations read outer variables (ItemsPath, ItemSelector, inner
// states); what they assign stays inside them; the Map state's own Assign
// runs in the outer scope with $ the (selected) results (LocalStack
// BASE_SCOPE_MAP, MAP_STATE_REFERENCE_IN_ITEMS_PATH / _ITEM_SELECTOR /
// _MAX_CONCURRENCY_PATH / _TOLERATED_FAILURE_PATH).
func TestMapScope(t *testing.T) {
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"x":42,"items":[1,2,3],"conc":1,"tol":0},"Next":"Each"},
	  "Each":{"Type":"Map","ItemsPath":"$items","MaxConcurrencyPath":"$conc","ToleratedFailureCountPath":"$tol",
	    "ItemSelector":{"v.$":"$$.Map.Item.Value","x.$":"$x"},
	    "ItemProcessor":{"StartAt":"Inner","States":{
	      "Inner":{"Type":"Pass","Assign":{"innerX.$":"$.x"},"Next":"Use"},
	      "Use":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($innerX, $.v)"},"OutputPath":"$.sum","End":true}}},
	    "ResultSelector":{"all.$":"$"},"Assign":{"sums.$":"$.all"},"Next":"Final"},
	  "Final":{"Type":"Pass","Parameters":{"sums.$":"$sums","x.$":"$x"},"End":true}}}`
	out, err := runJSON(t, def, `{}`, nil)
	wantOutput(t, out, err, `{"sums":[43,44,45],"x":42}`)

	leak := strings.Replace(def, `"x.$":"$x"},"End":true}}}`, `"x.$":"$innerX"},"End":true}}}`, 1)
	_, err = runJSON(t, leak, `{}`, nil)
	wantError(t, err, ErrRuntime)
}

// Parallel branches read outer variables, keep their own assignments, and
// the Parallel state's Assign sees the branch results (LocalStack
// BASE_SCOPE_PARALLEL).
func TestParallelScope(t *testing.T) {
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"base":10},"Next":"Both"},
	  "Both":{"Type":"Parallel","Branches":[
	      {"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"mine":1},"Next":"A2"},
	        "A2":{"Type":"Pass","Parameters":{"v.$":"States.MathAdd($base, $mine)"},"End":true}}},
	      {"StartAt":"B","States":{"B":{"Type":"Pass","Assign":{"mine":2},"Parameters":{"v.$":"$base"},"End":true}}}],
	    "Assign":{"first.$":"$[0].v","second.$":"$[1].v"},"Next":"Final"},
	  "Final":{"Type":"Pass","Parameters":{"first.$":"$first","second.$":"$second"},"End":true}}}`
	out, err := runJSON(t, def, `{}`, nil)
	wantOutput(t, out, err, `{"first":11,"second":10}`)
}

// Reading a variable no earlier state assigned fails the execution with
// States.Runtime, naming the variable and not catchable by States.ALL.
func TestUndefinedVariable(t *testing.T) {
	for _, field := range []string{`"InputPath":"$nope"`, `"Parameters":{"a.$":"$nope.x"}`, `"OutputPath":"$nope"`,
		`"Parameters":{"a.$":"States.Format('{}', $nope)"}`} {
		def := `{"StartAt":"A","States":{"A":{"Type":"Pass",` + field + `,"End":true}}}`
		_, err := runJSON(t, def, `{}`, nil)
		if aerr := wantError(t, err, ErrRuntime); !strings.Contains(aerr.Cause, "$nope") {
			t.Errorf("%s: cause %q should name $nope", field, aerr.Cause)
		}
	}
	def := `{"StartAt":"Init","States":{"Init":{"Type":"Pass","Assign":{"v":{"a":1}},"Next":"A"},
	  "A":{"Type":"Pass","Parameters":{"b.$":"$v.b"},"End":true}}}`
	_, err := runJSON(t, def, `{}`, nil)
	if aerr := wantError(t, err, ErrRuntime); !strings.Contains(aerr.Cause, "$v.b") {
		t.Errorf("cause %q should name the path $v.b", aerr.Cause)
	}
}

// One state may assign at most 256 KiB of variables (the guide: "up to
// 256 KiB per state"); more is States.DataLimitExceeded, which a
// States.ALL catcher does not catch.
func TestAssignSizeLimit(t *testing.T) {
	def := `{"StartAt":"Big","States":{"Big":{"Type":"Task","Resource":"arn:x","Assign":{"big.$":"$.s"},
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},"Caught":{"Type":"Succeed"}}}`
	big := TaskHandlerFunc(func(context.Context, TaskRequest) (any, error) {
		return map[string]any{"s": strings.Repeat("x", maxAssignBytes)}, nil
	})
	_, err := runJSON(t, def, `{}`, big)
	wantError(t, err, ErrDataLimitExceeded)

	sizes := newVarSizes(map[string]any{"old": strings.Repeat("x", maxVariableBytes-1000)})
	if err := sizes.check("S", map[string]any{"small": strings.Repeat("y", 2000)}); err == nil || err.Name != ErrDataLimitExceeded {
		t.Errorf("past 10 MiB in all: got %v", err)
	}
	if err := sizes.check("S", map[string]any{"old": "short", "small": strings.Repeat("y", 2000)}); err != nil {
		t.Errorf("replacing a large variable frees its space: %v", err)
	}
}

// StateExited events carry the state's assignments, for --trace.
func TestAssignedInEvents(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"n":1,"s.$":"$.s"},"Next":"B"},"B":{"Type":"Pass","End":true}}}`
	rec := &recorder{}
	_, err := mustParse(t, def).Run(context.Background(), j(t, `{"s":"x"}`), Options{Observer: rec.observe})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, e := range rec.events {
		if e.Type == StateExited {
			got = append(got, e.Assigned)
		}
	}
	if want := []map[string]any{{"n": 1.0, "s": "x"}, nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("assigned per StateExited = %v, want %v", got, want)
	}
}

// Variable names are Unicode identifiers: validVariable mirrors the rules.
func TestValidVariableNames(t *testing.T) {
	for _, ok := range []string{"x", "_x1", "größe", "名前", strings.Repeat("a", 80)} {
		if !validVariable(ok) {
			t.Errorf("%q should be valid", ok)
		}
	}
	for _, bad := range []string{"", "states", "1x", "a-b", "a.b", "$x", "a b", strings.Repeat("a", 81)} {
		if validVariable(bad) {
			t.Errorf("%q should be invalid", bad)
		}
	}
}

// The example of docs/asl.md runs as documented: the command id and host
// travel in variables, the attempt counter grows, the catcher records why.
func TestVariablesExample(t *testing.T) {
	def, err := os.ReadFile("testdata/variables.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, string(def))
	polls := 0
	ssm := func(failSend bool, finalStatus string) TaskHandler {
		return TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) {
			in := req.Input.(map[string]any)
			switch {
			case strings.HasSuffix(req.Resource, "sendCommand") && failSend:
				return nil, &Error{Name: "Ssm.InvalidInstanceId", Cause: "no such instance"}
			case strings.HasSuffix(req.Resource, "sendCommand"):
				return map[string]any{"Command": map[string]any{"CommandId": "c-" + in["InstanceIds"].([]any)[0].(string)}}, nil
			}
			polls++
			if in["CommandId"] != "c-i-1" || in["InstanceId"] != "i-1" {
				t.Errorf("poll input %v", in)
			}
			if polls < 2 {
				return map[string]any{"Status": "InProgress"}, nil
			}
			return map[string]any{"Status": finalStatus}, nil
		})
	}
	run := func(tasks TaskHandler) any {
		polls = 0
		out, err := m.Run(context.Background(), map[string]any{"host": "i-1"}, Options{Tasks: tasks, Clock: NewVirtualClock(epoch)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := run(ssm(false, "Success")), j(t, `{"host":"i-1","attempts":2,"failure":null}`); !reflect.DeepEqual(got, want) {
		t.Errorf("success: %v", got)
	}
	if got, want := run(ssm(false, "InProgress")), j(t, `{"host":"i-1","attempts":3,"failure":"gave up"}`); !reflect.DeepEqual(got, want) {
		t.Errorf("gave up: %v", got)
	}
	if got, want := run(ssm(true, "")), j(t, `{"host":"i-1","attempts":0,"failure":"no such instance"}`); !reflect.DeepEqual(got, want) {
		t.Errorf("caught: %v", got)
	}
}
