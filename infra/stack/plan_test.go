package stack

import (
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

func TestPlanNamesWhatIsMissing(t *testing.T) {
	root := fixture(t, "ingest") // the workflows call ${NotifyFunctionArn}
	_, err := NewPlan(root, Defaults())
	if err == nil || !strings.Contains(err.Error(), "${NotifyFunctionArn}, but function notify is not deployed") ||
		!strings.Contains(err.Error(), "make build") {
		t.Errorf("err = %v", err)
	}
	root = fixture(t, "ingest", "notify")
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"),
		`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:deleteBucket","Parameters":{"Bucket":"${TableName}"},"End":true}}}`)
	if _, err = NewPlan(root, Defaults()); err == nil || !strings.Contains(err.Error(), "odd.asl.json: state A: no IAM rule for s3:DeleteBucket") {
		t.Errorf("unknown integration: err = %v", err)
	}
	writeFile(t, filepath.Join(root, "statemachines", "odd.asl.json"),
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"${Nope}","End":true}}}`)
	if _, err = NewPlan(root, Defaults()); err == nil || !strings.Contains(err.Error(), "odd.asl.json uses ${Nope}, which the stack does not define") {
		t.Errorf("unknown placeholder: err = %v", err)
	}
}

func TestPlanLoadsEveryDefinition(t *testing.T) {
	root := fixture(t, "ingest", "notify")
	p, err := NewPlan(root, Defaults())
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
		GlobalActions:   []string{"ssm:GetCommandInvocation"},
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
