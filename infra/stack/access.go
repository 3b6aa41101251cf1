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
	// EncryptedVolumes: the workflow starts instances, so it needs KMS
	// grants for EBS volumes encrypted with customer managed keys.
	EncryptedVolumes bool
}

// sdkAccess says how an aws-sdk integration is granted. An integration not
// listed here fails synth: a reviewer must decide its least privilege.
var sdkAccess = map[string]accessKind{
	"ssm:SendCommand":            onDocumentsAndInstances,
	"ssm:GetCommandInvocation":   onAnyResource, // no resource-level permissions in IAM
	"ssm:ListCommandInvocations": onAnyResource,
	"ssm:ListCommands":           onAnyResource,
	// Commands are no IAM resource: cancelling is on "*", and it can only
	// stop what a Medic workflow (or someone) already started.
	"ssm:CancelCommand":                     onAnyResource,
	"ec2:DescribeInstances":                 onAnyResource,
	"ec2:DescribeInstanceStatus":            onAnyResource,
	"autoscaling:DescribeAutoScalingGroups": onAnyResource,
	"autoscaling:SetDesiredCapacity":        onAutoScalingGroups,
	"ec2:RebootInstances":                   onInstances,
	"ec2:StartInstances":                    onInstances,
	"ec2:StopInstances":                     onInstances,
}

type accessKind int

const (
	onAnyResource accessKind = iota
	onInstances
	onDocumentsAndInstances
	onAutoScalingGroups
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
	for _, t := range w.Tasks {
		if err := addTaskAccess(t, functions, documents, set); err != nil {
			return Access{}, fmt.Errorf("%s: state %s: %w", w.File, t.State, err)
		}
	}
	return Access{
		InvokeFunctions:  sortedKeys(set["invoke"]),
		Documents:        sortedKeys(set["doc"]),
		InstanceActions:  sortedKeys(set["inst"]),
		GroupActions:     sortedKeys(set["group"]),
		GlobalActions:    sortedKeys(set["any"]),
		EncryptedVolumes: set["inst"]["ec2:StartInstances"],
	}, nil
}

func addTaskAccess(t workflows.Task, functions map[string]string, documents []string, set map[string]map[string]bool) error {
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
		return addSDKAccess(t, parts[1]+":"+upperFirst(parts[2]), documents, set)
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

func addSDKAccess(t workflows.Task, action string, documents []string, set map[string]map[string]bool) error {
	kind, ok := sdkAccess[action]
	if !ok {
		return fmt.Errorf("no IAM rule for %s: add one to sdkAccess in infra/stack/access.go", action)
	}
	switch kind {
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
