package stack

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/medic-sre/medic/infra/workflows"
)

// Access is what one state machine's Task states need from IAM, derived
// from the definition itself so the role grants exactly what runs.
type Access struct {
	InvokeFunctions []string // function names (lambda:InvokeFunction)
	Documents       []string // SSM documents for ssm:SendCommand, e.g. AWS-RunShellScript
	InstanceActions []string // actions on EC2 instances (ssm:SendCommand, ec2:RebootInstances...), tag-conditioned
	GroupActions    []string // actions on Auto Scaling groups (autoscaling:SetDesiredCapacity), tag-conditioned
	GlobalActions   []string // actions with no resource-level permissions, so on "*"
	// OnPatterns: actions on other resources (alarms, databases, queues...),
	// sorted by service and resource.
	OnPatterns []PatternActions
	// EncryptedVolumes: the workflow starts instances, so it needs KMS
	// grants for EBS volumes encrypted with customer managed keys.
	EncryptedVolumes bool
}

// ActsOnTargets tells whether the role changes instances, groups or other
// tagged resources, which only the healable tag may scope.
func (a Access) ActsOnTargets() bool {
	if len(a.InstanceActions)+len(a.GroupActions) > 0 {
		return true
	}
	for _, p := range a.OnPatterns {
		if p.On.Tagged {
			return true
		}
	}
	return false
}

// sdkAccess says how an aws-sdk integration (keyed by the SDK's service
// and operation, aws-sdk:rds:modifyDBInstance → rds:ModifyDBInstance) is
// granted. An integration not listed here fails synth: a reviewer must
// decide its least privilege.
var sdkAccess = map[string]grant{
	"ssm:SendCommand":            {kind: onDocumentsAndInstances},
	"ssm:GetCommandInvocation":   {kind: onAnyResource}, // no resource-level permissions in IAM
	"ssm:ListCommandInvocations": {kind: onAnyResource},
	"ssm:ListCommands":           {kind: onAnyResource},
	// Commands are no IAM resource: cancelling is on "*", and it can only
	// stop what a Medic workflow (or someone) already started.
	"ssm:CancelCommand":                        {kind: onAnyResource},
	"ec2:DescribeInstances":                    {kind: onAnyResource},
	"ec2:DescribeInstanceStatus":               {kind: onAnyResource},
	"ec2:DescribeVolumes":                      {kind: onAnyResource},
	"autoscaling:DescribeAutoScalingGroups":    {kind: onAnyResource},
	"autoscaling:DescribeAutoScalingInstances": {kind: onAnyResource},
	"autoscaling:SetDesiredCapacity":           {kind: onAutoScalingGroups},
	"autoscaling:SetInstanceHealth":            {kind: onAutoScalingGroups},
	"ec2:RebootInstances":                      {kind: onInstances},
	"ec2:StartInstances":                       {kind: onInstances},
	"ec2:StopInstances":                        {kind: onInstances},

	// collect-evidence and elb-heal-targets read evidence. Describe and List
	// calls of these services either support no resource-level permissions
	// or take the resource from the alert, so they are on "*": reads only.
	"cloudwatch:GetMetricData":                     {kind: onAnyResource},
	"cloudwatch:DescribeAlarms":                    {kind: onAnyResource},
	"cloudwatch:DescribeAlarmHistory":              {kind: onPattern, on: ResourcePattern{Service: "cloudwatch", Resource: "alarm:*"}},
	"rds:DescribeDBInstances":                      {kind: onAnyResource},
	"rds:DescribeDBClusters":                       {kind: onAnyResource},
	"elasticloadbalancingv2:DescribeTargetHealth":  {kind: onAnyResource},
	"elasticloadbalancingv2:DescribeLoadBalancers": {kind: onAnyResource},
	"elasticloadbalancingv2:DescribeTags":          {kind: onAnyResource},
	"lambda:GetFunctionConfiguration":              {kind: onAnyResource},
	"lambda:GetAccountSettings":                    {kind: onAnyResource},
	"sqs:GetQueueUrl":                              {kind: onAnyResource},
	"sqs:GetQueueAttributes":                       {kind: onAnyResource},
	"sqs:ListDeadLetterSourceQueues":               {kind: onAnyResource},
	"sqs:ListQueueTags":                            {kind: onAnyResource},
	"sns:GetTopicAttributes":                       {kind: onAnyResource},
	"ecs:DescribeServices":                         {kind: onAnyResource},
	"dynamodb:DescribeTable":                       {kind: onAnyResource},
	"elasticache:DescribeCacheClusters":            {kind: onAnyResource},
	// API Gateway's management API is authorized by HTTP verb and path.
	"apigateway:GetRestApis": {kind: onPattern, on: ResourcePattern{Service: "apigateway", Resource: "/restapis", NoAccount: true}},
	"apigateway:GetStage":    {kind: onPattern, on: ResourcePattern{Service: "apigateway", Resource: "/restapis/*/stages/*", NoAccount: true}},
	"apigatewayv2:GetStage":  {kind: onPattern, on: ResourcePattern{Service: "apigateway", Resource: "/apis/*/stages/*", NoAccount: true}},

	// Fixes: only on resources carrying the healable tag.
	"rds:ModifyDBInstance":                     {kind: onPattern, on: ResourcePattern{Service: "rds", Resource: "db:*", Tagged: true}},
	"lambda:PutFunctionConcurrency":            {kind: onPattern, on: ResourcePattern{Service: "lambda", Resource: "function:*", Tagged: true}},
	"ecs:UpdateService":                        {kind: onPattern, on: ResourcePattern{Service: "ecs", Resource: "service/*/*", Tagged: true}},
	"elasticloadbalancingv2:DeregisterTargets": {kind: onPattern, on: ResourcePattern{Service: "elasticloadbalancing", Resource: "targetgroup/*/*", Tagged: true}},
	"sqs:StartMessageMoveTask":                 {kind: onPattern, on: taggedQueues, implies: RedriveActions},
}

// taggedQueues: a redrive moves messages from a tagged DLQ back to its
// tagged source queues.
var taggedQueues = ResourcePattern{Service: "sqs", Resource: "*", Tagged: true}

// RedriveActions are what SQS does with the caller's permissions while a
// message move task runs: read and delete on the DLQ, send to the sources.
var RedriveActions = []string{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"}

// iamPrefixes: the SDK service names whose IAM prefix differs.
var iamPrefixes = map[string]string{"elasticloadbalancingv2": "elasticloadbalancing", "apigatewayv2": "apigateway"}

// iamAction is the IAM action an SDK operation is authorized as.
// API Gateway's management calls are authorized by verb (apigateway:GET).
func iamAction(sdkAction string) string {
	service, op, _ := strings.Cut(sdkAction, ":")
	if prefix, ok := iamPrefixes[service]; ok {
		service = prefix
	}
	if service == "apigateway" && strings.HasPrefix(op, "Get") {
		return "apigateway:GET"
	}
	return service + ":" + op
}

type grant struct {
	kind    accessKind
	on      ResourcePattern // onPattern only
	implies []string        // further actions on the same pattern
}

// ResourcePattern is an ARN pattern of this account and region,
// arn:<partition>:<Service>:<region>:<account>:<Resource>; Tagged adds the
// healable tag condition (aws:ResourceTag/<key>).
type ResourcePattern struct {
	Service, Resource string
	NoAccount         bool // the ARN has no account (API Gateway)
	Tagged            bool
}

// PatternActions are the actions one statement allows on one pattern.
type PatternActions struct {
	On      ResourcePattern
	Actions []string
}

type accessKind int

const (
	onAnyResource accessKind = iota
	onInstances
	onDocumentsAndInstances
	onAutoScalingGroups
	onPattern
)

var (
	integrationPattern = regexp.MustCompile(`^arn:aws[a-z-]*:states:::(.+?)(\.waitForTaskToken|\.sync(:2)?)?$`)
	placeholderOnly    = regexp.MustCompile(`^\$\{([A-Za-z0-9_]+)\}$`)
)

// DeriveAccess maps every Task of w to the access it needs. functions maps
// an ARN placeholder (NotifyFunctionArn) to the function's name; documents
// are granted to a SendCommand whose DocumentName is set at run time.
// Errors name the file, the state and the reason.
func DeriveAccess(w workflows.Workflow, functions map[string]string, documents []string) (Access, error) {
	set := map[string]map[string]bool{"invoke": {}, "doc": {}, "inst": {}, "group": {}, "any": {}}
	patterns := map[ResourcePattern]map[string]bool{}
	for _, t := range w.Tasks {
		if err := addTaskAccess(t, functions, documents, set, patterns); err != nil {
			return Access{}, fmt.Errorf("%s: state %s: %w", w.File, t.State, err)
		}
	}
	return Access{
		OnPatterns:       sortedPatterns(patterns),
		InvokeFunctions:  sortedKeys(set["invoke"]),
		Documents:        sortedKeys(set["doc"]),
		InstanceActions:  sortedKeys(set["inst"]),
		GroupActions:     sortedKeys(set["group"]),
		GlobalActions:    sortedKeys(set["any"]),
		EncryptedVolumes: set["inst"]["ec2:StartInstances"],
	}, nil
}

func addTaskAccess(t workflows.Task, functions map[string]string, documents []string, set map[string]map[string]bool, patterns map[ResourcePattern]map[string]bool) error {
	if m := placeholderOnly.FindStringSubmatch(t.Resource); m != nil { // a Lambda ARN as the Resource
		return addInvoke(m[1], functions, set)
	}
	m := integrationPattern.FindStringSubmatch(t.Resource)
	if m == nil {
		return fmt.Errorf("Resource %q is neither a service integration nor a ${...FunctionArn}", t.Resource)
	}
	parts := strings.Split(m[1], ":")
	switch {
	case len(parts) == 2 && parts[0] == "lambda" && parts[1] == "invoke":
		fn, _ := t.Param("FunctionName")
		pm := placeholderOnly.FindStringSubmatch(fn)
		if pm == nil {
			return fmt.Errorf("lambda:invoke needs a static FunctionName of the form ${NameFunctionArn}, got %q", fn)
		}
		return addInvoke(pm[1], functions, set)
	case len(parts) == 3 && parts[0] == "aws-sdk":
		return addSDKAccess(t, parts[1]+":"+upperFirst(parts[2]), documents, set, patterns)
	}
	return fmt.Errorf("no IAM rule for integration %q: add one to infra/stack/access.go", m[1])
}

func addInvoke(placeholder string, functions map[string]string, set map[string]map[string]bool) error {
	name, ok := functions[placeholder]
	if !ok {
		return fmt.Errorf("invokes ${%s}, which is no function in this stack (%s)", placeholder, knownList(functions))
	}
	set["invoke"][name] = true
	return nil
}

func addSDKAccess(t workflows.Task, sdkAction string, documents []string, set map[string]map[string]bool, patterns map[ResourcePattern]map[string]bool) error {
	g, ok := sdkAccess[sdkAction]
	if !ok {
		return fmt.Errorf("no IAM rule for %s: add one to sdkAccess in infra/stack/access.go", sdkAction)
	}
	action := iamAction(sdkAction)
	switch g.kind {
	case onPattern:
		if patterns[g.on] == nil {
			patterns[g.on] = map[string]bool{}
		}
		for _, a := range append([]string{action}, g.implies...) {
			patterns[g.on][a] = true
		}
	case onAnyResource:
		set["any"][action] = true
	case onInstances:
		set["inst"][action] = true
	case onAutoScalingGroups:
		set["group"][action] = true
	case onDocumentsAndInstances:
		if doc, _ := t.Param("DocumentName"); doc != "" {
			set["doc"][doc] = true
		} else if len(documents) == 0 {
			return fmt.Errorf("%s: DocumentName is set at run time and context ssmDocuments is empty", action)
		} else {
			for _, d := range documents {
				set["doc"][d] = true
			}
		}
		set["inst"][action] = true
	}
	return nil
}

func sortedPatterns(m map[ResourcePattern]map[string]bool) []PatternActions {
	var out []PatternActions
	for p, actions := range m {
		out = append(out, PatternActions{On: p, Actions: sortedKeys(actions)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].On.Service != out[j].On.Service {
			return out[i].On.Service < out[j].On.Service
		}
		return out[i].On.Resource < out[j].On.Resource
	})
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func knownList(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, "${"+k+"}")
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none deployed"
	}
	return "deployed: " + strings.Join(keys, ", ")
}
