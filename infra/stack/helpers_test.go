package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// One jsii runtime per test binary: closing and restarting it per test
// prints spurious errors.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "medic-infra-test")
	if err != nil {
		panic(err)
	}
	sharedDir = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedDir holds what outlives one test: the full stack several tests read.
var sharedDir string

// testConfig is the smallest configuration synth accepts: the defaults
// plus the healable tag and the alarms Medic takes in.
func testConfig() Config {
	c := Defaults()
	c.HealableTagKey, c.HealableTagValue = "medic:healable", "true"
	c.AlarmNamePrefixes = []string{"heal-"}
	return c
}

// repoRoot is where the real statemachines/ and packs/ live.
const repoRoot = "../.."

// fixture builds an asset root like `make build` leaves it: a stand-in
// bootstrap per function (CDK only hashes it), the real packs beside it,
// and a copy of the real statemachines/.
func fixture(t testing.TB, functions ...string) string {
	return fixtureAt(t, t.TempDir(), functions...)
}

func fixtureAt(t testing.TB, root string, functions ...string) string {
	t.Helper()
	for _, fn := range functions {
		dir := BuildDir(root, fn)
		writeFile(t, filepath.Join(dir, "bootstrap"), "#!/bin/sh\necho "+fn+"\n")
		copyTree(t, filepath.Join(repoRoot, "packs"), filepath.Join(dir, "packs"))
		if fn == "chatops" {
			data, err := os.ReadFile(filepath.Join(repoRoot, "config", "chatops.example.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, ChatopsConfigPath), string(data))
		}
	}
	copyTree(t, filepath.Join(repoRoot, "statemachines"), filepath.Join(root, "statemachines"))
	return root
}

// timerPack is a pack of timer rules: two enabled (an interval and a cron
// with a timezone), one disabled, so fixtures can check one schedule per
// enabled timer rule.
var timerPack = map[string]string{
	"pack.yaml": "ref: timers\nname: timers\ndescription: Timer rules for the infra tests\nversion: 0.1.0\nauthor: Medic\n",
	"rules/every_five_minutes.yaml": `name: every_five_minutes
pack: timers
enabled: true
trigger:
  type: core.st2.IntervalTimer
  parameters: {unit: minutes, delta: 5}
action:
  ref: core.notify
  parameters: {message: tick}
`,
	"rules/weekday_morning.yaml": `name: weekday_morning
pack: timers
enabled: true
trigger:
  type: core.st2.CronTimer
  parameters: {timezone: Europe/Berlin, hour: 7, minute: 30, day_of_week: mon-fri}
action:
  ref: core.notify
  parameters: {message: good morning}
`,
	"rules/switched_off.yaml": `name: switched_off
pack: timers
enabled: false
trigger:
  type: core.st2.IntervalTimer
  parameters: {unit: hours, delta: 1}
action:
  ref: core.notify
  parameters: {message: never}
`,
}

// addPack writes a pack beside a fixture function's bootstrap.
func addPack(t testing.TB, root, fn, name string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		writeFile(t, filepath.Join(BuildDir(root, fn), "packs", name, rel), content)
	}
}

// withoutMachines removes definitions from a fixture's statemachines/.
func withoutMachines(t testing.TB, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Remove(filepath.Join(root, "statemachines", n+".asl.json")); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(to, rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// synthesized is one stack run through synthesis with cdk-nag applied.
type synthed struct {
	medic  *Medic
	tpl    assertions.Template
	doc    map[string]any // the template as JSON
	outdir string
}

func synth(t testing.TB, root string, cfg Config) *synthed {
	return synthAt(t, root, t.TempDir(), cfg)
}

func synthAt(t testing.TB, root, outdir string, cfg Config) *synthed {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:  jsii.String(outdir),
		Context: &map[string]any{"aws:cdk:enable-asset-metadata": true},
	})
	m, err := New(app, cfg.StackName, Props{AssetRoot: root, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	AddNag(app)
	tpl := assertions.Template_FromStack(m.Stack, nil)
	return &synthed{medic: m, tpl: tpl, doc: *tpl.ToJSON(), outdir: outdir}
}

// check turns a failed CDK assertion (a panic) into a test error, so one
// run reports every failure.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// resources returns the template's resources of one type by logical id.
func (s *synthed) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

var cdkHash = regexp.MustCompile(`^[0-9A-F]{8}$`)

// logicalID finds the one resource of typ whose id is prefix + CDK's hash.
func (s *synthed) logicalID(t *testing.T, typ, prefix string) string {
	t.Helper()
	var found []string
	for id := range s.resources(typ) {
		if strings.HasPrefix(id, prefix) && cdkHash.MatchString(id[len(prefix):]) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s with id %s<hash>, found %v", typ, prefix, found)
	}
	return found[0]
}

func (s *synthed) props(id string) map[string]any {
	return s.doc["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
}

// statement is an IAM statement with its tokens rendered as text.
type statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Condition string // JSON, "" when absent
}

// statements returns every statement of the policies attached to roleID.
func (s *synthed) statements(roleID string) []statement {
	var out []statement
	for _, p := range s.resources("AWS::IAM::Policy") {
		props := p["Properties"].(map[string]any)
		attached := false
		for _, r := range props["Roles"].([]any) {
			attached = attached || render(r) == "{"+roleID+"}"
		}
		if !attached {
			continue
		}
		for _, raw := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := raw.(map[string]any)
			s := statement{Effect: st["Effect"].(string), Actions: strs(st["Action"]), Resources: strs(st["Resource"])}
			if c, ok := st["Condition"]; ok {
				b, _ := json.Marshal(c)
				s.Condition = string(b)
			}
			out = append(out, s)
		}
	}
	return out
}

// allowed lists "action on resource" pairs a role's policies allow.
func allowed(sts []statement) []string {
	var out []string
	for _, st := range sts {
		for _, a := range st.Actions {
			for _, r := range st.Resources {
				out = append(out, a+" on "+r)
			}
		}
	}
	sort.Strings(out)
	return out
}

func strs(v any) []string {
	if list, ok := v.([]any); ok {
		var out []string
		for _, item := range list {
			out = append(out, render(item))
		}
		return out
	}
	return []string{render(v)}
}

// render writes a CloudFormation value as text: Ref X → {X}, GetAtt X.Y →
// {X.Y}, Fn::Join concatenated, so tests can compare ARNs as strings.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return "{" + r + "}"
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return fmt.Sprintf("{%v.%v}", g[0], g[1])
		}
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// definitionActions reads a state machine definition (as deployed, from the
// template) and returns the IAM action each Task resource calls, sorted and
// unique: aws-sdk:ssm:sendCommand → ssm:SendCommand, lambda:invoke (with or
// without .waitForTaskToken) and a bare function ARN → lambda:InvokeFunction.
// It is written apart from infra/stack/access.go on purpose: the check must
// not share the code it checks.
func definitionActions(t testing.TB, definition string) []string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(definition), &doc); err != nil {
		t.Fatalf("definition is not JSON: %v", err)
	}
	set := map[string]bool{}
	var walk func(machine map[string]any)
	walk = func(machine map[string]any) {
		states, _ := machine["States"].(map[string]any)
		for name, raw := range states {
			st := raw.(map[string]any)
			switch st["Type"] {
			case "Task":
				set[taskAction(t, name, st["Resource"].(string))] = true
			case "Map":
				proc, ok := st["ItemProcessor"].(map[string]any)
				if !ok {
					proc, _ = st["Iterator"].(map[string]any)
				}
				walk(proc)
			case "Parallel":
				for _, b := range st["Branches"].([]any) {
					walk(b.(map[string]any))
				}
			}
		}
	}
	walk(doc)
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func taskAction(t testing.TB, state, resource string) string {
	t.Helper()
	if strings.HasPrefix(resource, "${") || strings.Contains(resource, ":function:") {
		return "lambda:InvokeFunction"
	}
	rest, ok := strings.CutPrefix(resource, "arn:aws:states:::")
	if !ok {
		t.Fatalf("state %s: resource %q is no Step Functions integration", state, resource)
	}
	rest = strings.TrimSuffix(strings.TrimSuffix(rest, ".waitForTaskToken"), ".sync")
	if rest == "lambda:invoke" {
		return "lambda:InvokeFunction"
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] != "aws-sdk" {
		t.Fatalf("state %s: resource %q is no aws-sdk or Lambda integration this check knows", state, resource)
	}
	service, op := parts[1], strings.ToUpper(parts[2][:1])+parts[2][1:]
	switch service {
	case "elasticloadbalancingv2":
		service = "elasticloadbalancing"
	case "apigateway", "apigatewayv2": // authorized by HTTP verb; the definitions only read
		if !strings.HasPrefix(op, "Get") {
			t.Fatalf("state %s: API Gateway %s: only Get* calls are known to this check", state, op)
		}
		return "apigateway:GET"
	}
	return service + ":" + op
}

// impliedActions are what IAM needs beyond a Task's own action: starting
// instances with encrypted volumes, and the SQS calls a message move task
// makes with the caller's permissions.
var impliedActions = map[string][]string{
	"ec2:StartInstances":       {"kms:CreateGrant", "kms:Decrypt"},
	"sqs:StartMessageMoveTask": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"},
}

// grantedOnAnyResource: the stack's table puts action on "*".
func grantedOnAnyResource(action string) bool {
	for sdk, g := range sdkAccess {
		if g.kind == onAnyResource && iamAction(sdk) == action {
			return true
		}
	}
	return false
}

// topicPolicy returns the policy document of the topic whose logical id is
// prefix + CDK's hash.
func (s *synthed) topicPolicy(t *testing.T, prefix string) map[string]any {
	t.Helper()
	ref := "{" + s.logicalID(t, "AWS::SNS::Topic", prefix) + "}"
	for _, r := range s.resources("AWS::SNS::TopicPolicy") {
		p := r["Properties"].(map[string]any)
		if render(p["Topics"].([]any)[0]) == ref {
			return p["PolicyDocument"].(map[string]any)
		}
	}
	t.Fatalf("no policy for topic %s", prefix)
	return nil
}

// roleOf is the logical id of a state machine's role.
func (s *synthed) roleOf(t *testing.T, workflow string) string {
	t.Helper()
	sm := s.props(s.logicalID(t, "AWS::StepFunctions::StateMachine", pascal(workflow)+"StateMachine"))
	return strings.TrimSuffix(strings.TrimPrefix(render(sm["RoleArn"]), "{"), ".Arn}")
}
