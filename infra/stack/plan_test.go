package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medic-sre/medic/infra/workflows"
)

func names(fns []FunctionSpec) []string {
	var out []string
	for _, f := range fns {
		out = append(out, f.Name)
	}
	return out
}

func TestSelectFunctionsByBuildOrByList(t *testing.T) {
	root := fixture(t, "ingest", "notify")
	got, err := SelectFunctions(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ingest", "notify"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("built functions = %v, want %v (chatops is not built)", names(got), want)
	}
	if got, err = SelectFunctions(root, []string{"ingest", "ingest"}); err != nil || !reflect.DeepEqual(names(got), []string{"ingest"}) {
		t.Errorf("listed = %v, %v; want [ingest]", names(got), err)
	}
	errs := map[string][]string{
		"function chatops: " + BuildDir(root, "chatops") + "/bootstrap is missing: run `make build`": {"ingest", "chatops"},
		`context functions: "webhook" is not in the function table`:                                  {"ingest", "webhook"},
		`context functions: "ingest" is required and missing from the list`:                          {"notify"},
	}
	for want, list := range errs {
		if _, err := SelectFunctions(root, list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %s", list, err, want)
		}
	}
}

func TestSelectFunctionsChecksTheAsset(t *testing.T) {
	root := fixture(t, "notify")
	if _, err := SelectFunctions(root, nil); err == nil || !strings.Contains(err.Error(), "function ingest: "+BuildDir(root, "ingest")+"/bootstrap is missing") {
		t.Errorf("without ingest: err = %v", err)
	}
	root = fixture(t, "ingest")
	os.RemoveAll(filepath.Join(BuildDir(root, "ingest"), "packs"))
	if _, err := SelectFunctions(root, nil); err == nil || !strings.Contains(err.Error(), "no packs beside bootstrap") {
		t.Errorf("without packs: err = %v", err)
	}
}

// allFunctions are the fixture functions every definition together needs.
var allFunctions = []string{"ingest", "chatops", "notify", "http"}

func TestPlanNamesWhatIsMissing(t *testing.T) {
	root := fixture(t, "ingest", "notify") // ask-approval calls ${ApprovalFunctionArn}
	_, err := NewPlan(root, testConfig())
	if err == nil || !strings.Contains(err.Error(), "ask-approval.asl.json uses ${ApprovalFunctionArn}, but function chatops is not deployed") ||
		!strings.Contains(err.Error(), "make build") {
		t.Errorf("without chatops: err = %v", err)
	}
	withoutMachines(t, root, "ask-approval", "collect-evidence", "elb-heal-targets") // these ask for approval too
	if _, err = NewPlan(root, testConfig()); err == nil || !strings.Contains(err.Error(), "http-request.asl.json uses ${HttpFunctionArn}, but function http is not deployed") {
		t.Errorf("without http: err = %v", err)
	}
	root = fixture(t, "ingest") // the workflows call ${NotifyFunctionArn}
	withoutMachines(t, root, "ask-approval", "collect-evidence", "elb-heal-targets", "http-request")
	if _, err = NewPlan(root, testConfig()); err == nil || !strings.Contains(err.Error(), "${NotifyFunctionArn}, but function notify is not deployed") {
		t.Errorf("without notify: err = %v", err)
	}
	root = fixture(t, allFunctions...)
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"),
		`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:deleteBucket","Parameters":{"Bucket":"${TableName}"},"End":true}}}`)
	if _, err = NewPlan(root, testConfig()); err == nil || !strings.Contains(err.Error(), "odd.asl.json: state A: no IAM rule for s3:DeleteBucket") {
		t.Errorf("unknown integration: err = %v", err)
	}
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"),
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"${Nope}","End":true}}}`)
	if _, err = NewPlan(root, testConfig()); err == nil || !strings.Contains(err.Error(), "odd.asl.json uses ${Nope}, which the stack does not define") {
		t.Errorf("unknown placeholder: err = %v", err)
	}
}

// Finding 5: a definition without an execution timeout fails synth; the
// file's own TimeoutSeconds wins over ExecutionTimeouts, and the deployed
// definition carries the timeout either way.
func TestPlanGivesEveryExecutionATimeout(t *testing.T) {
	root := fixture(t, allFunctions...)
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"), `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	if _, err := NewPlan(root, testConfig()); err == nil || !strings.Contains(err.Error(), `odd.asl.json: no execution timeout: set TimeoutSeconds in the file or add "odd" to ExecutionTimeouts`) {
		t.Errorf("no timeout: err = %v", err)
	}
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"), `{"TimeoutSeconds": 0, "StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	if _, err := NewPlan(root, testConfig()); err == nil || !strings.Contains(err.Error(), "TimeoutSeconds: want a whole number of seconds from 1") {
		t.Errorf("hostile timeout: err = %v", err)
	}
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"), ` {"TimeoutSeconds": 42, "StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	p, err := NewPlan(root, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Workflows {
		var def map[string]any
		if err := json.Unmarshal([]byte(w.DeployedDefinition()), &def); err != nil {
			t.Fatalf("%s: deployed definition is not JSON: %v", w.Name, err)
		}
		want := float64(ExecutionTimeouts[w.Name])
		if w.Name == "odd" {
			want = 42
		}
		if def["TimeoutSeconds"] != want || w.Timeout != int(want) {
			t.Errorf("%s: TimeoutSeconds %v (plan %d), want %v", w.Name, def["TimeoutSeconds"], w.Timeout, want)
		}
	}
}

func TestPlanLoadsEveryDefinition(t *testing.T) {
	root := fixture(t, allFunctions...)
	p, err := NewPlan(root, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot, "statemachines", "*.asl.json"))
	if len(p.Workflows) != len(files) || len(files) == 0 {
		t.Errorf("planned %d workflows for %d files", len(p.Workflows), len(files))
	}
}

func TestDeriveAccess(t *testing.T) {
	fns := map[string]string{"NotifyFunctionArn": "notify"}
	w := workflows.Workflow{File: "w.asl.json", Tasks: []workflows.Task{
		{State: "Send", Resource: "arn:aws:states:::aws-sdk:ssm:sendCommand", Params: map[string]string{"DocumentName": "AWS-RunShellScript"}},
		{State: "SendAny", Resource: "arn:aws:states:::aws-sdk:ssm:sendCommand.waitForTaskToken", Params: map[string]string{}},
		{State: "Poll", Resource: "arn:aws:states:::aws-sdk:ssm:getCommandInvocation", Params: map[string]string{}},
		{State: "Cancel", Resource: "arn:aws:states:::aws-sdk:ssm:cancelCommand", Params: map[string]string{}},
		{State: "Reboot", Resource: "arn:aws:states:::aws-sdk:ec2:rebootInstances", Params: map[string]string{}},
		{State: "Scale", Resource: "arn:aws:states:::aws-sdk:autoscaling:setDesiredCapacity", Params: map[string]string{}},
		{State: "Ask", Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken", Params: map[string]string{"FunctionName": "${NotifyFunctionArn}"}},
		{State: "Direct", Resource: "${NotifyFunctionArn}", Params: map[string]string{}},
	}}
	got, err := DeriveAccess(w, fns, []string{"AWS-RunPowerShellScript"})
	if err != nil {
		t.Fatal(err)
	}
	want := Access{
		InvokeFunctions: []string{"notify"},
		Documents:       []string{"AWS-RunPowerShellScript", "AWS-RunShellScript"},
		InstanceActions: []string{"ec2:RebootInstances", "ssm:SendCommand"},
		GroupActions:    []string{"autoscaling:SetDesiredCapacity"},
		GlobalActions:   []string{"ssm:CancelCommand", "ssm:GetCommandInvocation"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	bad := map[string]workflows.Task{
		`lambda:invoke needs a static FunctionName`:                                                          {State: "S", Resource: "arn:aws:states:::lambda:invoke", Params: map[string]string{"FunctionName": ""}},
		`invokes ${ChatopsFunctionArn}, which is no function in this stack (deployed: ${NotifyFunctionArn})`: {State: "S", Resource: "${ChatopsFunctionArn}"},
		`Resource "arn:aws:lambda:us-east-1:1:function:x" is neither`:                                        {State: "S", Resource: "arn:aws:lambda:us-east-1:1:function:x"},
		`no IAM rule for integration "sns:publish"`:                                                          {State: "S", Resource: "arn:aws:states:::sns:publish"},
		`ssm:SendCommand: DocumentName is set at run time and context ssmDocuments is empty`:                 {State: "S", Resource: "arn:aws:states:::aws-sdk:ssm:sendCommand"},
	}
	for want, task := range bad {
		_, err := DeriveAccess(workflows.Workflow{File: "w.asl.json", Tasks: []workflows.Task{task}}, fns, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "w.asl.json: state S: ") {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

func TestPlaceholderNames(t *testing.T) {
	if got := (FunctionSpec{Name: "notify"}).ArnPlaceholder(); got != "NotifyFunctionArn" {
		t.Errorf("notify → %s", got)
	}
	if got := StateMachinePlaceholder("ec2-reboot_instance"); got != "Ec2RebootInstanceStateMachineArn" {
		t.Errorf("ec2-reboot_instance → %s", got)
	}
}

// A function that is built but incomplete is an error, not silently left
// out: deploying it would fail at start-up, leaving it out would surprise.
func TestBuiltButIncompleteFunctionIsAnError(t *testing.T) {
	root := fixture(t, "ingest", "notify")
	writeFile(t, filepath.Join(BuildDir(root, "chatops"), "bootstrap"), "binary")
	_, err := SelectFunctions(root, nil)
	if err == nil || !strings.Contains(err.Error(), "function chatops: "+BuildDir(root, "chatops")+"/config/chatops.yaml is missing") {
		t.Errorf("err = %v", err)
	}
	writeFile(t, filepath.Join(BuildDir(root, "chatops"), ChatopsConfigPath), "channel: '#medic'\n")
	if _, err = SelectFunctions(root, nil); err == nil || !strings.Contains(err.Error(), "function chatops: no packs beside bootstrap") {
		t.Errorf("err = %v", err)
	}
}

func TestPlanSchedulesEveryEnabledTimerRule(t *testing.T) {
	root := fixture(t, allFunctions...)
	p, err := NewPlan(root, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p.ScheduleTarget != "ingest" || len(p.Timers) != 0 {
		t.Errorf("real packs: target %q, timers %+v; want ingest and none (packs/ has no timer rule)", p.ScheduleTarget, p.Timers)
	}
	addPack(t, root, "ingest", "timers", timerPack)
	if p, err = NewPlan(root, testConfig()); err != nil {
		t.Fatal(err)
	}
	got := map[string]PlannedTimer{}
	for _, tm := range p.Timers {
		got[tm.Rule] = tm
	}
	want := map[string]string{
		"timers.every_five_minutes": "rate(5 minutes) UTC",
		"timers.weekday_morning":    "cron(30 7 ? * MON-FRI *) Europe/Berlin",
	}
	if len(got) != len(want) {
		t.Errorf("timers = %+v, want exactly %v (the disabled rule has none)", p.Timers, want)
	}
	for ref, sched := range want {
		tm := got[ref]
		if s := tm.Schedule.Expression + " " + tm.Schedule.Timezone; s != sched {
			t.Errorf("%s: schedule %q, want %q", ref, s, sched)
		}
		if !strings.Contains(tm.Input, `"source":"medic.timer","rule":"`+ref+`"`) ||
			!strings.Contains(tm.Input, `"scheduled_time":"<aws.scheduler.scheduled-time>"`) {
			t.Errorf("%s: input %s is not a timer tick with Scheduler's time", ref, tm.Input)
		}
	}
}

// A timer Scheduler cannot run fails synth, naming the file, the rule and
// the field, never an approximation.
func TestPlanRefusesATimerSchedulerCannotRun(t *testing.T) {
	root := fixture(t, allFunctions...)
	addPack(t, root, "ingest", "timers", map[string]string{
		"pack.yaml": timerPack["pack.yaml"],
		"rules/half_past.yaml": "name: half_past\npack: timers\nenabled: true\ntrigger:\n  type: core.st2.CronTimer\n" +
			"  parameters: {minute: 0, second: 30}\naction:\n  ref: core.notify\n  parameters: {message: x}\n",
	})
	_, err := NewPlan(root, testConfig())
	for _, want := range []string{"half_past.yaml", "timer in rule timers.half_past", "trigger.parameters.second", "cannot run on EventBridge Scheduler"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	// Disabled, the same rule needs no schedule and no longer fails.
	addPack(t, root, "ingest", "timers", map[string]string{
		"rules/half_past.yaml": "name: half_past\npack: timers\nenabled: false\ntrigger:\n  type: core.st2.CronTimer\n" +
			"  parameters: {minute: 0, second: 30}\naction:\n  ref: core.notify\n  parameters: {message: x}\n",
	})
	if _, err := NewPlan(root, testConfig()); err != nil {
		t.Errorf("disabled timer: %v", err)
	}
}

func TestPlanRefusesBrokenPacks(t *testing.T) {
	root := fixture(t, allFunctions...)
	addPack(t, root, "ingest", "timers", map[string]string{
		"pack.yaml":        timerPack["pack.yaml"],
		"rules/wrong.yaml": "name: wrong\npack: timers\ntrigger:\n  type: no.such.trigger\naction:\n  ref: core.notify\n",
	})
	_, err := NewPlan(root, testConfig())
	if err == nil || !strings.Contains(err.Error(), "function ingest: packs beside bootstrap do not load") || !strings.Contains(err.Error(), "wrong.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestScheduleName(t *testing.T) {
	long := "pack." + strings.Repeat("x", 80)
	cases := map[string]string{
		"linux.nightly_cleanup": "linux.nightly_cleanup",
		"odd.rule name!":        "odd.rule-name--",
	}
	for ref, prefix := range cases {
		got := ScheduleName(ref)
		if !strings.HasPrefix(got, prefix) || len(got) > 64 || scheduleNameInvalid.MatchString(got) {
			t.Errorf("ScheduleName(%q) = %q", ref, got)
		}
		if got != ref && got == ScheduleName(ref+"x") {
			t.Errorf("rewritten names must still differ: %q", got)
		}
	}
	if got := ScheduleName(long); len(got) != 64 || got == ScheduleName(long+"y") {
		t.Errorf("long ref → %q (%d)", got, len(got))
	}
	if strings.Contains(FlushName, ".") {
		t.Errorf("flush schedule %q could collide with a rule ref (pack.name)", FlushName)
	}
}
