package stack

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// The tests of issue 17: one per finding, each on the synthesized template.

// Finding 1: every statement that may act on instances or groups carries
// the healable tag condition in the key its service evaluates.
func TestEveryTargetStatementIsTagConditioned(t *testing.T) {
	s := fullStack(t)
	instances := partition + "ec2:" + regionAcc + "instance/*"
	groups := partition + "autoscaling:" + regionAcc + "autoScalingGroup:*:autoScalingGroupName/*"
	var seen []string
	for _, w := range planned(s) {
		for _, st := range s.statements(s.roleOf(t, w.Name)) {
			for _, action := range st.Actions {
				service, op, _ := strings.Cut(action, ":")
				targets := (service == "ec2" || service == "autoscaling") && !strings.HasPrefix(op, "Describe")
				if action == "ssm:SendCommand" && contains(st.Resources, instances) {
					targets = true
				}
				if !targets {
					continue
				}
				seen = append(seen, w.Name+" "+action)
				want := `{"StringEquals":{"` + TagConditionKey(service, "medic:healable") + `":"true"}}`
				if st.Condition != want {
					t.Errorf("%s: %s on %v has condition %q, want %s", w.Name, action, st.Resources, st.Condition, want)
				}
				if !reflect.DeepEqual(st.Resources, []string{instances}) && !reflect.DeepEqual(st.Resources, []string{groups}) {
					t.Errorf("%s: %s on %v, want only instance/* or autoScalingGroup:*", w.Name, action, st.Resources)
				}
			}
		}
	}
	sort.Strings(seen)
	for _, want := range []string{"autoscaling-adjust-capacity autoscaling:SetDesiredCapacity", "diagnose-remediate-verify ssm:SendCommand",
		"ec2-reboot-instance ec2:RebootInstances", "ec2-recover-instance ec2:StartInstances", "ec2-recover-instance ec2:StopInstances",
		"run-command ssm:SendCommand"} {
		if !contains(seen, want) {
			t.Errorf("no %s statement found (saw %v)", want, seen)
		}
	}
}

// Finding 1: run-command builds its request; the template's definition has
// no raw pass-through and IAM allows only the one document.
func TestRunCommandTakesNoRawRequest(t *testing.T) {
	s := fullStack(t)
	def := s.definition(t, "run-command")
	send := def["States"].(map[string]any)["SendCommand"].(map[string]any)
	for _, raw := range []string{"InputPath", "Parameters"} {
		if _, ok := send[raw]; ok {
			t.Errorf("SendCommand has %s: the request would come from the input", raw)
		}
	}
	args, _ := send["Arguments"].(map[string]any)
	if args["DocumentName"] != "AWS-RunShellScript" {
		t.Errorf("DocumentName = %v, want the static AWS-RunShellScript", args["DocumentName"])
	}
	if !strings.Contains(render(args["Targets"]), "'tag:' \u0026 $t.key") {
		t.Errorf("Targets = %s: tag targets must be forced to tag:KEY", render(args["Targets"]))
	}
	var docs []string
	for _, st := range s.statements(s.roleOf(t, "run-command")) {
		if contains(st.Actions, "ssm:SendCommand") {
			for _, r := range st.Resources {
				if strings.Contains(r, ":document/") {
					docs = append(docs, r)
				}
			}
		}
	}
	if want := []string{partition + "ssm:{AWS::Region}::document/AWS-RunShellScript"}; !reflect.DeepEqual(docs, want) {
		t.Errorf("run-command may send documents %v, want %v", docs, want)
	}
}

// Finding 3: no execution data in the logs unless the deployer opts in
// (the opt-in is in TestAlternativeStack).
func TestStateMachinesLogErrorsWithoutData(t *testing.T) {
	s := fullStack(t)
	for id, r := range s.resources("AWS::StepFunctions::StateMachine") {
		lc := r["Properties"].(map[string]any)["LoggingConfiguration"].(map[string]any)
		if lc["Level"] != "ERROR" || lc["IncludeExecutionData"] != false {
			t.Errorf("%s logs at %v with execution data %v", id, lc["Level"], lc["IncludeExecutionData"])
		}
	}
}

// Finding 4: run-command keeps a bounded tail of each instance's output and
// sends the full output to a log group the stack owns.
func TestRunCommandBoundsOutputAndLogsItInFull(t *testing.T) {
	s := fullStack(t)
	def := s.definition(t, "run-command")
	states := def["States"].(map[string]any)
	send := states["SendCommand"].(map[string]any)["Arguments"].(map[string]any)
	if got := render(send["CloudWatchOutputConfig"]); !strings.Contains(got, `"CloudWatchOutputEnabled":true`) {
		t.Errorf("CloudWatchOutputConfig = %s", got)
	}
	get := states["FollowInvocations"].(map[string]any)["ItemProcessor"].(map[string]any)["States"].(map[string]any)["GetInvocation"].(map[string]any)
	output, _ := get["Output"].(string)
	for _, want := range []string{"$substring($r.StandardOutputContent, -$out)", "$substring($r.StandardErrorContent, -$err)", "'CloudWatchOutput'"} {
		if !strings.Contains(output, want) {
			t.Errorf("GetInvocation output %q lacks %s", output, want)
		}
	}
	if _, whole := get["ResultPath"]; whole {
		t.Error("GetInvocation still keeps the whole invocation (ResultPath)")
	}
	check(t, "command output log group", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
			"LogGroupName": "/aws/ssm/Medic-run-command", "RetentionInDays": 14,
		})
		s.tpl.HasOutput(jsii.String("RunCommandCommandOutputLogGroup"), map[string]any{})
	})
}

// Finding 5: every execution has a deadline and every function a
// concurrency reservation.
func TestTimeoutsAndReservedConcurrency(t *testing.T) {
	s := fullStack(t)
	for _, w := range planned(s) {
		if got := s.definition(t, w.Name)["TimeoutSeconds"]; got == nil || got.(float64) < 60 {
			t.Errorf("%s: TimeoutSeconds = %v", w.Name, got)
		}
	}
	for _, f := range Functions {
		p := s.props(s.logicalID(t, "AWS::Lambda::Function", pascal(f.Name)+"Function"))
		if got := p["ReservedConcurrentExecutions"]; got != float64(f.ReservedConcurrency) || f.ReservedConcurrency < 1 {
			t.Errorf("%s: ReservedConcurrentExecutions = %v, want %d", f.Name, got, f.ReservedConcurrency)
		}
	}
}

// Finding 8: a stop/start of an instance with customer managed EBS keys
// needs a KMS grant through EC2; only the workflow that starts instances
// gets it, only via EC2 and only for AWS resources.
func TestRecoverMayUseEncryptedVolumes(t *testing.T) {
	s := fullStack(t)
	keys := partition + "kms:" + regionAcc + "key/*"
	via := `"kms:ViaService":{"Fn::Join":["",["ec2.",{"Ref":"AWS::Region"},".amazonaws.com"]]}`
	want := map[string]string{
		"kms:CreateGrant": `{"Bool":{"kms:GrantIsForAWSResource":"true"},"StringEquals":{` + via + `}}`,
		"kms:Decrypt":     `{"StringEquals":{` + via + `}}`,
	}
	for _, w := range planned(s) {
		got := map[string]string{}
		for _, st := range s.statements(s.roleOf(t, w.Name)) {
			for _, a := range st.Actions {
				if strings.HasPrefix(a, "kms:") {
					got[a] = st.Condition
					if !reflect.DeepEqual(st.Resources, []string{keys}) {
						t.Errorf("%s: %s on %v", w.Name, a, st.Resources)
					}
				}
			}
		}
		if !contains(definitionActions(t, w.Definition), "ec2:StartInstances") {
			if len(got) > 0 {
				t.Errorf("%s does not start instances but may use KMS: %v", w.Name, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s's KMS statements %v\nwant %v", w.Name, got, want)
		}
	}
}

// The template-level check: each state machine's role allows exactly the
// actions its Task states call (plus what Step Functions needs to log and
// trace, and the KMS grant that starting instances implies).
func TestEveryTaskHasItsStatementAndNoMore(t *testing.T) {
	s := fullStack(t)
	for _, w := range planned(s) {
		tasks := definitionActions(t, render(s.props(s.logicalID(t, "AWS::StepFunctions::StateMachine", pascal(w.Name)+"StateMachine"))["DefinitionString"]))
		want := map[string]bool{}
		for _, a := range tasks {
			want[a] = true
			for _, implied := range impliedActions[a] {
				want[implied] = true
			}
		}
		got := map[string]bool{}
		for _, st := range s.statements(s.roleOf(t, w.Name)) {
			for _, a := range st.Actions {
				if !sfnServiceActions[a] {
					got[a] = true
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: role allows %v\nits tasks call %v", w.Name, sortedKeys(got), sortedKeys(want))
		}
	}
}

// runtimeActions are what Lambda itself does with a function's role (logs,
// traces, the on-failure destination), not calls in the function's code.
var runtimeActions = map[string]bool{
	"logs:CreateLogStream": true, "logs:PutLogEvents": true, "xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true,
	"sqs:SendMessage": true, "sqs:GetQueueAttributes": true, "sqs:GetQueueUrl": true,
}

// The template-level check for functions: each role allows exactly the
// calls functions/<fn>/aws-calls.txt declares, and that list matches the
// SDK operations the Go code linked into the function references.
func TestFunctionRolesMatchTheirSDKCalls(t *testing.T) {
	s := fullStack(t)
	for _, f := range Functions {
		called, linked := readAWSCalls(t, f.Name)
		got := map[string]bool{}
		for _, st := range s.statements(s.logicalID(t, "AWS::IAM::Role", pascal(f.Name)+"FunctionRole")) {
			for _, a := range st.Actions {
				if !runtimeActions[a] {
					got[a] = true
				}
			}
		}
		if !reflect.DeepEqual(sortedKeys(got), sortedKeys(called)) {
			t.Errorf("%s: role allows %v\naws-calls.txt declares %v", f.Name, sortedKeys(got), sortedKeys(called))
		}
		inCode := sdkOperations(t, f.Name)
		for op, where := range inCode {
			if !called[op] && !linked[op] {
				t.Errorf("%s: the code references %s (%s), which functions/%s/aws-calls.txt does not declare", f.Name, op, where, f.Name)
			}
		}
		for op := range called {
			if _, ok := inCode[op]; !ok {
				t.Errorf("%s: aws-calls.txt declares %s, which no code linked into the function references", f.Name, op)
			}
		}
		for op := range linked {
			if _, ok := inCode[op]; !ok {
				t.Errorf("%s: aws-calls.txt lists %s as linked, but no code references it: remove the line", f.Name, op)
			}
		}
	}
}

// readAWSCalls parses functions/<fn>/aws-calls.txt: "service:Action" is a
// call, "- service:Action reason" an operation linked but never called.
func readAWSCalls(t *testing.T, fn string) (called, linked map[string]bool) {
	t.Helper()
	path := filepath.Join(repoRoot, "functions", fn, "aws-calls.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%s: every function declares its AWS calls: %v", fn, err)
	}
	defer f.Close()
	called, linked = map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "- "):
			fields := strings.Fields(line[2:])
			if len(fields) < 2 {
				t.Fatalf("%s:%d: a linked-only operation needs a reason", path, n)
			}
			linked[fields[0]] = true
		default:
			if strings.ContainsAny(line, " \t") || !strings.Contains(line, ":") {
				t.Fatalf("%s:%d: want service:Action, got %q", path, n, line)
			}
			called[line] = true
		}
	}
	return called, linked
}

// iamPrefix maps an aws-sdk-go-v2 service package to its IAM prefix.
var iamPrefix = map[string]string{"sfn": "states", "eventbridge": "events"}

var (
	scanOnce sync.Once
	scanned  map[string]map[string]string
)

// sdkOperations lists the SDK operations referenced (as <svc>.<Op>Input)
// by the module's non-test Go files linked into functions/<fn>, as IAM
// actions, each with one file that references it.
func sdkOperations(t *testing.T, fn string) map[string]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Module}}|{{.Dir}}|{{join .GoFiles \",\"}}{{end}}", "./functions/"+fn)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", fn, err)
	}
	ops := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "github.com/medic-sre/medic") {
			continue
		}
		for _, name := range strings.Split(parts[2], ",") {
			if name != "" {
				scanFile(t, filepath.Join(parts[1], name), ops)
			}
		}
	}
	return ops
}

func scanFile(t *testing.T, path string, ops map[string]string) {
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]string{} // import name → service package
	for _, imp := range file.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		svc, ok := strings.CutPrefix(p, "github.com/aws/aws-sdk-go-v2/service/")
		if !ok || strings.Contains(svc, "/") {
			continue
		}
		name := svc
		if imp.Name != nil {
			name = imp.Name.Name
		}
		services[name] = svc
	}
	ast.Inspect(file, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		svc, known := services[pkgName(pkg, ok)]
		op, isInput := strings.CutSuffix(sel.Sel.Name, "Input")
		if !known || !isInput || op == "" {
			return true
		}
		prefix := svc
		if p, ok := iamPrefix[svc]; ok {
			prefix = p
		}
		action := prefix + ":" + op
		if action == "lambda:Invoke" {
			action = "lambda:InvokeFunction"
		}
		ops[action] = filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
		return true
	})
}

func pkgName(id *ast.Ident, ok bool) string {
	if !ok {
		return ""
	}
	return id.Name
}

// definition returns a deployed state machine's definition as JSON.
func (s *synthed) definition(t *testing.T, workflow string) map[string]any {
	t.Helper()
	var def map[string]any
	raw := render(s.props(s.logicalID(t, "AWS::StepFunctions::StateMachine", pascal(workflow)+"StateMachine"))["DefinitionString"])
	if err := json.Unmarshal([]byte(raw), &def); err != nil {
		t.Fatalf("%s: %v", workflow, err)
	}
	return def
}

// A second configuration exercises the opt-ins: the unsafe opt-out (an
// error-level nag finding, no tag condition, no suppression claiming one),
// logging with execution data, a second stack name in the same account
// (finding 9), every alarm, and a custom SSM document (its ARN carries the
// account, finding 9).
func TestAlternativeStack(t *testing.T) {
	root := fixture(t, "ingest", "notify")
	withoutMachines(t, root, "ask-approval", "collect-evidence", "elb-heal-targets", "http-request")
	writeFile(t, filepath.Join(root, "statemachines", "custom-doc.asl.json"), `{"StartAt":"Send","States":{"Send":{"Type":"Task",`+
		`"Resource":"arn:aws:states:::aws-sdk:ssm:sendCommand","Parameters":{"DocumentName.$":"$.doc","InstanceIds.$":"$.ids"},"End":true}}}`)
	ExecutionTimeouts["custom-doc"] = 600
	defer delete(ExecutionTimeouts, "custom-doc")
	cfg := Defaults()
	cfg.StackName = "MedicB"
	cfg.UnsafeAllInstances = true
	cfg.LogExecutionData = true
	cfg.AlarmNamePrefixes = []string{AllAlarms}
	cfg.SSMDocuments = []string{"AWS-RunShellScript", "FreeDisk"}
	s := synth(t, root, cfg)

	errs := assertions.Annotations_FromStack(s.medic.Stack).FindError(jsii.String("*"), assertions.Match_AnyValue())
	var unsafe, iam5 int
	for _, msg := range *errs {
		text := render(msg.Entry.Data)
		if strings.Contains(text, "medicUnsafeAllInstances") {
			unsafe++
		}
		if strings.Contains(text, "AwsSolutions-IAM5") && strings.Contains(text, "instance/*") {
			iam5++
		}
	}
	if unsafe == 0 || iam5 == 0 {
		t.Errorf("the unsafe opt-out must be an error in the nag report: %d medic errors, %d IAM5 errors on instance/*", unsafe, iam5)
	}
	for _, st := range s.statements(s.roleOf(t, "diagnose-remediate-verify")) {
		if st.Condition != "" {
			t.Errorf("unsafe config conditions %v: %s", st.Actions, st.Condition)
		}
	}
	for id, r := range s.resources("AWS::IAM::Role") {
		if meta, _ := r["Metadata"].(map[string]any); strings.Contains(render(meta), "healable tag condition") {
			t.Errorf("%s: a suppression claims a tag condition the template does not have", id)
		}
	}
	for id, r := range s.resources("AWS::StepFunctions::StateMachine") {
		p := r["Properties"].(map[string]any)
		if lc := p["LoggingConfiguration"].(map[string]any); lc["Level"] != "ALL" || lc["IncludeExecutionData"] != true {
			t.Errorf("%s: logExecutionData did not opt in: %v", id, lc)
		}
		if name, _ := p["StateMachineName"].(string); !strings.HasPrefix(name, "MedicB-") {
			t.Errorf("%s: name %q does not carry the stack name", id, name)
		}
	}
	var docs []string
	for _, st := range s.statements(s.roleOf(t, "custom-doc")) {
		for _, r := range st.Resources {
			if strings.Contains(r, ":document/") {
				docs = append(docs, r)
			}
		}
	}
	sort.Strings(docs)
	want := []string{partition + "ssm:{AWS::Region}::document/AWS-RunShellScript", partition + "ssm:" + regionAcc + "document/FreeDisk"}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("documents %v, want %v (a custom document's ARN carries the account)", docs, want)
	}
	rule := s.props(s.logicalID(t, "AWS::Events::Rule", "AlarmStateChanges"))
	if got := render(rule["EventPattern"].(map[string]any)["detail"].(map[string]any)["alarmName"]); got != `[{"anything-but":{"prefix":["MedicB-","TargetTracking-"]}}]` {
		t.Errorf("every alarm: alarmName filter %s", got)
	}
	if got := s.props(s.logicalID(t, "AWS::Logs::LogGroup", "RunCommandStateMachineLogs"))["LogGroupName"]; got != "/aws/vendedlogs/states/MedicB-run-command" {
		t.Errorf("log group %v does not carry the stack name", got)
	}
}
