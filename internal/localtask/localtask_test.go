package localtask

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/asl"
)

func invoke(t *testing.T, h *Handler, resource string, input any) (map[string]any, error) {
	t.Helper()
	out, err := h.Invoke(context.Background(), asl.TaskRequest{Resource: resource, Input: input})
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func TestSendCommandThenPollLikeSSM(t *testing.T) {
	h := &Handler{SSM: &SSM{}}
	sent, err := invoke(t, h, ResourceSendCommand, map[string]any{
		"DocumentName": "AWS-RunShellScript",
		"InstanceIds":  []any{"localhost"},
		"Parameters":   map[string]any{"commands": []any{"echo out", "echo err >&2", "exit 4"}, "executionTimeout": []any{"30"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := sent["Command"].(map[string]any)["CommandId"].(string)
	if len(id) != 36 {
		t.Fatalf("command id %q is not SSM-shaped", id)
	}
	h.SSM.Wait(id)
	inv, err := invoke(t, h, ResourceGetCommandInvocation, map[string]any{"CommandId": id, "InstanceId": "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if inv["Status"] != "Failed" || inv["ResponseCode"] != 4.0 || inv["StandardOutputContent"] != "out\n" || inv["StandardErrorContent"] != "err\n" {
		t.Fatalf("invocation %v", inv)
	}
	list, _ := invoke(t, h, ResourceListCommandInvocations, map[string]any{"CommandId": id})
	if n := len(list["CommandInvocations"].([]any)); n != 1 {
		t.Fatalf("%d invocations", n)
	}
}

func TestNamedErrorsAsStepFunctionsSeesThem(t *testing.T) {
	h := &Handler{SSM: &SSM{}}
	cases := []struct {
		resource string
		input    any
		want     string
	}{
		{ResourceGetCommandInvocation, map[string]any{"CommandId": "nope", "InstanceId": "localhost"}, "Ssm.InvocationDoesNotExistException"},
		{ResourceSendCommand, map[string]any{"DocumentName": "AWS-RunPowerShellScript", "InstanceIds": []any{"x"}}, "Ssm.InvalidDocumentException"},
		{ResourceSendCommand, map[string]any{"DocumentName": "AWS-RunShellScript"}, "Ssm.InvalidInstanceIdException"},
		{ResourceSendCommand, map[string]any{"DocumentName": "AWS-RunShellScript", "InstanceIds": []any{"x"}, "Parameters": map[string]any{"commands": []any{"true"}, "executionTimeout": []any{"soon"}}}, "Ssm.InvalidParametersException"},
		{ResourceLambdaInvoke, map[string]any{"FunctionName": "arn:aws:lambda:us-east-1:1:function:missing"}, "Lambda.ResourceNotFoundException"},
		{ResourceCancelCommand, map[string]any{"CommandId": "nope"}, "Ssm.InvalidCommandIdException"},
		{ResourceListCommandInvocations, map[string]any{"CommandId": "c", "NextToken": "garbage"}, "Ssm.InvalidNextTokenException"},
		{ResourceListCommandInvocations, map[string]any{"CommandId": "c", "MaxResults": 51}, "Ssm.SsmException"},
		{ResourceRebootInstances, map[string]any{"InstanceIds": []any{"i-1"}}, "Ec2.Ec2Exception"}, // no fleet: an empty account
		{"arn:aws:states:::dynamodb:putItem", map[string]any{}, "States.TaskFailed"},
	}
	for _, c := range cases {
		_, err := invoke(t, h, c.resource, c.input)
		var aerr *asl.Error
		if !errors.As(err, &aerr) || aerr.Name != c.want {
			t.Errorf("%s: got %v, want %s", c.resource, err, c.want)
		}
	}
}

func TestLambdaInvokeCallsGoHandler(t *testing.T) {
	h := &Handler{Functions: map[string]Function{"medic-notify": func(_ context.Context, p any) (any, error) {
		return map[string]any{"echo": p}, nil
	}}}
	out, err := invoke(t, h, ResourceLambdaInvoke, map[string]any{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:medic-notify", "Payload": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if out["StatusCode"] != 200.0 || out["Payload"].(map[string]any)["echo"] != "hi" {
		t.Fatalf("%v", out)
	}
}

func TestCancelCommandKillsOnlyTheNamedTargets(t *testing.T) {
	h := &Handler{SSM: &SSM{Dir: t.TempDir()}}
	sent, err := invoke(t, h, ResourceSendCommand, map[string]any{
		"DocumentName": "AWS-RunShellScript",
		"InstanceIds":  []any{"a", "b"},
		"Parameters":   map[string]any{"commands": []any{"sleep 0.3; echo done"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := sent["Command"].(map[string]any)["CommandId"].(string)
	if _, err := invoke(t, h, ResourceCancelCommand, map[string]any{"CommandId": id, "InstanceIds": []any{"zzz"}}); err == nil || !strings.Contains(err.Error(), "Ssm.InvalidInstanceIdException") {
		t.Fatalf("cancel on a target the command was not sent to: %v", err)
	}
	if _, err := invoke(t, h, ResourceCancelCommand, map[string]any{"CommandId": id, "InstanceIds": []any{"a"}}); err != nil {
		t.Fatal(err)
	}
	h.SSM.Wait(id)
	for target, want := range map[string]string{"a": "Cancelled", "b": "Success"} {
		inv, _ := invoke(t, h, ResourceGetCommandInvocation, map[string]any{"CommandId": id, "InstanceId": target})
		if inv["Status"] != want {
			t.Errorf("%s: %v, want %s", target, inv, want)
		}
	}
}

func TestListCommandInvocationsPages(t *testing.T) {
	h := &Handler{SSM: &SSM{Dir: t.TempDir()}}
	var targets []any
	for i := range 7 {
		targets = append(targets, fmt.Sprintf("t%d", i))
	}
	sent, err := invoke(t, h, ResourceSendCommand, map[string]any{"DocumentName": "AWS-RunShellScript", "InstanceIds": targets, "Parameters": map[string]any{"commands": []any{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := sent["Command"].(map[string]any)["CommandId"].(string)
	var seen []string
	req := map[string]any{"CommandId": id, "MaxResults": 3}
	for pages := 1; ; pages++ {
		page, err := invoke(t, h, ResourceListCommandInvocations, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range page["CommandInvocations"].([]any) {
			seen = append(seen, inv.(map[string]any)["InstanceId"].(string))
		}
		next, ok := page["NextToken"]
		if !ok {
			if pages != 3 {
				t.Fatalf("%d pages", pages)
			}
			break
		}
		req["NextToken"] = next
	}
	if got := strings.Join(seen, ","); got != "t0,t1,t2,t3,t4,t5,t6" {
		t.Fatalf("listed %s", got)
	}
	h.SSM.Wait(id)
}
