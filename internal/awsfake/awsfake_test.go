package awsfake

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestRealClientsRoundTripAndRetry(t *testing.T) {
	srv := New(t, SSM).Handle("GetCommandInvocation", func(in map[string]any) (any, error) {
		if in["InstanceId"] == "i-missing" {
			return nil, &Error{Status: http.StatusBadRequest, Type: "InvocationDoesNotExist", Message: "not yet"}
		}
		return map[string]any{"CommandId": in["CommandId"], "InstanceId": in["InstanceId"], "Status": "Success", "ResponseCode": 0}, nil
	})
	srv.Fail(Throttling(), InternalError())
	client := ssm.NewFromConfig(srv.Config())
	out, err := client.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String("c"), InstanceId: aws.String("i-1")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.CommandInvocationStatusSuccess || aws.ToString(out.InstanceId) != "i-1" || srv.Calls("GetCommandInvocation") != 3 {
		t.Fatalf("%+v after %d calls", out, srv.Calls("GetCommandInvocation"))
	}
	if srv.Last("GetCommandInvocation")["CommandId"] != "c" {
		t.Fatalf("last request %v", srv.Last("GetCommandInvocation"))
	}
	_, err = client.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String("c"), InstanceId: aws.String("i-missing")})
	var missing *types.InvocationDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("want the typed InvocationDoesNotExist, got %v", err)
	}
}

func TestPersistentFaultsAndUnknownOperationsSurface(t *testing.T) {
	srv := New(t, SSM).Handle("CancelCommand", func(map[string]any) (any, error) { return nil, errors.New("boom") })
	client := ssm.NewFromConfig(srv.Config())
	_, err := client.CancelCommand(context.Background(), &ssm.CancelCommandInput{CommandId: aws.String("c")})
	if err == nil || !strings.Contains(err.Error(), "boom") || srv.Calls("CancelCommand") != 5 {
		t.Fatalf("got %v after %d calls (want 5 attempts)", err, srv.Calls("CancelCommand"))
	}
	_, err = client.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("d")})
	if err == nil || !strings.Contains(err.Error(), "no handler for SendCommand") {
		t.Fatalf("got %v", err)
	}
}

func TestJSON10Protocol(t *testing.T) {
	srv := New(t, StepFunctions).Handle("StartExecution", func(in map[string]any) (any, error) {
		return map[string]any{"executionArn": in["stateMachineArn"].(string) + ":" + in["name"].(string), "startDate": 1.7e9}, nil
	})
	out, err := sfn.NewFromConfig(srv.Config()).StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:sm"), Name: aws.String("n")})
	if err != nil || aws.ToString(out.ExecutionArn) != "arn:sm:n" {
		t.Fatalf("%v %v", out, err)
	}
	// An SSM client is refused: wrong target prefix and JSON version.
	_, err = ssm.NewFromConfig(srv.Config()).CancelCommand(context.Background(), &ssm.CancelCommandInput{CommandId: aws.String("c")})
	if err == nil || !strings.Contains(err.Error(), "not a AWSStepFunctions JSON 1.0 request") {
		t.Fatalf("got %v", err)
	}
}

func FuzzRequestBodies(f *testing.F) {
	f.Add([]byte(`{"CommandId":"c"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"a":`))
	f.Add([]byte{})
	srv := New(f, SSM).Handle("CancelCommand", func(in map[string]any) (any, error) { return in, nil })
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSSM.CancelCommand")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
	})
}
