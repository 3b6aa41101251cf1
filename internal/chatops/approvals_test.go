package chatops

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/slack/slackfake"
)

// approvalMachine is the approval step as a workflow writes it.
const approvalMachine = `{
  "StartAt": "Approve",
  "States": {
    "Approve": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {
        "FunctionName": "medic-approval",
        "Payload": {
          "token.$": "$$.Task.Token",
          "execution.$": "$$.Execution.Name",
          "action": "ops.restart",
          "params.$": "$.params",
          "approvers": ["S_SRE"]
        }
      },
      "TimeoutSeconds": 30,
      "End": true
    }
  }
}`

type runResult struct {
	out any
	err error
}

// startApproval runs the machine in the interpreter, with the approval
// function wired to e's Approvals, and waits until the request is posted.
func startApproval(t *testing.T, e *env, name string) (value, ts string, done <-chan runResult) {
	t.Helper()
	m, err := asl.Parse([]byte(approvalMachine))
	if err != nil {
		t.Fatal(err)
	}
	hub := asl.NewTokenHub()
	e.h.Approvals.Tasks = LocalTasks{Hub: hub}
	tasks := asl.TaskHandlerFunc(func(ctx context.Context, req asl.TaskRequest) (any, error) {
		return e.h.Approvals.Request(ctx, req.Input.(map[string]any)["Payload"])
	})
	ch := make(chan runResult, 1)
	go func() {
		out, err := m.Run(context.Background(), map[string]any{"params": map[string]any{"service": "nginx"}},
			asl.Options{Tasks: tasks, Tokens: hub, ExecutionName: name})
		ch <- runResult{out, err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		// The request is remembered for `/medic approve` just after its
		// buttons are posted: wait for both.
		_, pending, _ := e.h.Approvals.Pending.Get(context.Background(), name)
		for _, msg := range e.slack.Messages() {
			if v := buttonValue(t, msg, ActionApprove); v != "" && pending {
				return v, msg.TS, ch
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no approval request was posted")
	return "", "", nil
}

func buttonValue(t *testing.T, msg slackfake.Message, actionID string) string {
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if msg.Blocks == "" {
		return ""
	}
	if err := json.Unmarshal([]byte(msg.Blocks), &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range blocks {
		for _, el := range b.Elements {
			if el.ActionID == actionID {
				return el.Value
			}
		}
	}
	return ""
}

func wait(t *testing.T, done <-chan runResult) runResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("execution still waiting")
		return runResult{}
	}
}

func lastReply(e *env) reply {
	all := e.replies.all()
	if len(all) == 0 {
		return reply{}
	}
	return all[len(all)-1]
}

func TestApproveClickResumesOnlyForAllowedApprovers(t *testing.T) {
	e := newEnv(t)
	value, ts, done := startApproval(t, e, "exec-approve-1")

	// U_OK may run ops.* but is not in the approve grant's group.
	e.click("U_OK", "C_OPS", ActionApprove, value, ts)
	if r := lastReply(e); r.Msg == nil || r.Msg.ResponseType != "ephemeral" || r.Msg.ReplaceOriginal || !strings.Contains(r.text(), "may not approve action ops.restart") {
		t.Fatalf("refusal = %+v", r)
	}
	// An approver, but in another channel.
	e.click("U_SRE", "C_ELSE", ActionApprove, value, ts)
	if r := lastReply(e); !strings.Contains(r.text(), "here") {
		t.Fatalf("channel refusal = %s", r.text())
	}
	select {
	case <-done:
		t.Fatal("a refused click resumed the execution")
	default:
	}

	e.click("U_SRE", "C_OPS", ActionApprove, value, ts)
	r := wait(t, done)
	if r.err != nil {
		t.Fatalf("execution failed: %v", r.err)
	}
	out := r.out.(map[string]any)
	if out["approved"] != true || out["decision"] != "approved" || out["by"] != "U_SRE" || out["channel"] != "C_OPS" || out["execution"] != "exec-approve-1" {
		t.Fatalf("task output = %v", out)
	}
	var updated bool
	for _, m := range e.slack.Messages() {
		if m.Method == "chat.update" && m.TS == ts && strings.Contains(m.Text, "<@U_SRE> *approved*") {
			updated = true
			if buttonValue(t, m, ActionApprove) != "" {
				t.Error("buttons left on the decided request")
			}
		}
	}
	if !updated {
		t.Errorf("request message not updated: %+v", e.slack.Messages())
	}

	// A second click finds nothing waiting.
	e.click("U_SRE", "C_OPS", ActionApprove, value, ts)
	if r := lastReply(e); !strings.Contains(r.text(), "no longer waiting") {
		t.Errorf("second click = %s\n%s", r.text(), e.logs)
	}
}

func TestRejectFailsTheTaskWithWhoAndWhy(t *testing.T) {
	e := newEnv(t)
	_, _, done := startApproval(t, e, "exec-reject-1")
	r := e.command("U_SRE", "C_OPS", "reject exec-reject-1 not during the release")
	if !strings.Contains(r.text(), "Recorded: rejected") {
		t.Fatalf("reply = %s", r.text())
	}
	res := wait(t, done)
	var aerr *asl.Error
	if !errors.As(res.err, &aerr) || aerr.Name != ErrRejected {
		t.Fatalf("err = %v", res.err)
	}
	var d Decision
	if err := json.Unmarshal([]byte(aerr.Cause), &d); err != nil {
		t.Fatalf("cause %q: %v", aerr.Cause, err)
	}
	if d.Approved || d.By != "U_SRE" || d.Comment != "not during the release" || d.Decision != "rejected" {
		t.Fatalf("decision = %+v", d)
	}
	if r := e.command("U_SRE", "C_OPS", "approve exec-reject-1"); !strings.Contains(r.text(), "no open approval request") {
		t.Errorf("after decision: %s", r.text())
	}
}

func TestApprovalRequestValidation(t *testing.T) {
	e := newEnv(t)
	for payload, want := range map[string]string{
		`{"execution":"x","action":"a"}`: "token is required",
		`{"token":"t","action":"a"}`:     "execution is required",
		`{"token":"t","execution":"x"}`:  "action is required",
		`{"token":"t","execution":"x","action":"` + strings.Repeat("a", 3000) + `"}`: "over Slack's 2000",
	} {
		var p any
		json.Unmarshal([]byte(payload), &p)
		if _, err := e.h.Approvals.Request(context.Background(), p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", payload[:min(40, len(payload))], err, want)
		}
	}
}

type fakeSFN struct {
	success *sfn.SendTaskSuccessInput
	failure *sfn.SendTaskFailureInput
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.success = in
	return &sfn.SendTaskSuccessOutput{}, nil
}

func (f *fakeSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	f.failure = in
	return &sfn.SendTaskFailureOutput{}, nil
}

func TestSFNTasks(t *testing.T) {
	f := &fakeSFN{}
	s := SFNTasks{API: f}
	if err := s.Succeed(context.Background(), "tok", Decision{Approved: true, By: "U1"}); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.success.TaskToken) != "tok" || !strings.Contains(aws.ToString(f.success.Output), `"by":"U1"`) {
		t.Errorf("success = %+v", f.success)
	}
	if err := s.Fail(context.Background(), "tok", ErrRejected, strings.Repeat("x", 40000)); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.failure.Error) != ErrRejected || len(aws.ToString(f.failure.Cause)) != maxCause {
		t.Errorf("failure = %s, cause %d bytes", aws.ToString(f.failure.Error), len(aws.ToString(f.failure.Cause)))
	}
	if err := s.Succeed(context.Background(), "tok", func() {}); err == nil {
		t.Error("non-JSON output accepted")
	}
}
