package localtask_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/awsfake"
	"github.com/medic-sre/medic/internal/awsssm"
	"github.com/medic-sre/medic/internal/localtask"
)

// The local SSM served over the SSM wire protocol (awsfake) to the real
// aws-sdk-go-v2 client and to awsssm, the adapter Go callers use in AWS:
// whatever the stand-in answers must decode into SSM's types field for
// field, and the adapter must follow a local command as it follows one in
// AWS.

// wireSSM serves s over awsfake. Step Functions writes timestamps of
// aws-sdk results as ISO 8601 strings, the SSM wire as epoch seconds: the
// only translation made.
func wireSSM(t *testing.T, s *localtask.SSM) *ssm.Client {
	serve := func(op func(any) (any, error)) awsfake.Handler {
		return func(in map[string]any) (any, error) {
			out, err := op(in)
			var aerr *asl.Error
			if errors.As(err, &aerr) {
				// Step Functions names SDK errors Ssm.<Type>Exception; the wire
				// carries the bare type.
				typ := strings.TrimSuffix(strings.TrimPrefix(aerr.Name, "Ssm."), "Exception")
				return nil, &awsfake.Error{Status: http.StatusBadRequest, Type: typ, Message: aerr.Cause}
			}
			return epochTimes(out), err
		}
	}
	srv := awsfake.New(t, awsfake.SSM).
		Handle("SendCommand", serve(func(in any) (any, error) { return s.SendCommand(context.Background(), in) })).
		Handle("GetCommandInvocation", serve(s.GetCommandInvocation)).
		Handle("ListCommandInvocations", serve(s.ListCommandInvocations)).
		Handle("CancelCommand", serve(s.CancelCommand))
	return ssm.NewFromConfig(srv.Config())
}

var wireTimestamps = map[string]bool{"RequestedDateTime": true, "ResponseStartDateTime": true, "ResponseFinishDateTime": true}

func epochTimes(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			if s, ok := item.(string); ok && wireTimestamps[k] {
				ts, _ := time.Parse(time.RFC3339, s)
				out[k] = float64(ts.UnixMilli()) / 1000
				continue
			}
			out[k] = epochTimes(item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = epochTimes(item)
		}
		return out
	}
	return v
}

func TestAdapterFollowsALocalCommandOverTheWire(t *testing.T) {
	s := &localtask.SSM{Dir: t.TempDir()}
	r := &awsssm.Runner{API: wireSSM(t, s), Poll: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, results, err := r.Run(ctx, awsssm.Request{InstanceIDs: []string{"localhost"}, Script: "sleep 1; echo out; echo err >&2; exit 3", Comment: "wire"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 {
		t.Fatalf("results %+v", results)
	}
	got := results[0]
	if got.InstanceID != "localhost" || got.Status != "Failed" || got.ExitCode != 3 || got.Stdout != "out\n" || got.Stderr != "err\n" || got.Start == "" || got.End == "" {
		t.Fatalf("result %+v", got)
	}

	// The SDK's decoding of the answer equals the answer, field for field.
	sdkOut, err := wireClientGet(ctx, r, id)
	if err != nil {
		t.Fatal(err)
	}
	local, err := s.GetCommandInvocation(map[string]any{"CommandId": id, "InstanceId": "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	sameFields(t, local.(map[string]any), reflect.ValueOf(*sdkOut))
}

func wireClientGet(ctx context.Context, r *awsssm.Runner, id string) (*ssm.GetCommandInvocationOutput, error) {
	return r.API.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(id), InstanceId: aws.String("localhost")})
}

// sameFields compares a stand-in answer with the SDK struct decoded from
// it: every field the stand-in sends is a field of SSM's response with the
// same value.
func sameFields(t *testing.T, local map[string]any, sdk reflect.Value) {
	t.Helper()
	for k, v := range local {
		f := sdk.FieldByName(k)
		if !f.IsValid() {
			t.Errorf("%s is not a field of %s", k, sdk.Type())
			continue
		}
		for f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		if sub, ok := v.(map[string]any); ok {
			sameFields(t, sub, f)
			continue
		}
		if got, want := fmt.Sprint(f.Interface()), fmt.Sprint(v); got != want {
			t.Errorf("%s: the SDK read %q, the stand-in sent %q", k, got, want)
		}
	}
}

func TestAdapterSeesARunningLocalCommandAsInAWS(t *testing.T) {
	s := &localtask.SSM{Dir: t.TempDir()}
	r := &awsssm.Runner{API: wireSSM(t, s), Poll: 20 * time.Millisecond}
	ctx := context.Background()
	id, err := r.Send(ctx, awsssm.Request{InstanceIDs: []string{"localhost"}, Script: "echo started; sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	var inv awsssm.Invocation
	for range 200 {
		if inv, err = r.Get(ctx, id, "localhost"); err != nil {
			t.Fatal(err)
		}
		if inv.Status != "Pending" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if inv.Status != "InProgress" || inv.ExitCode != -1 || inv.Stdout != "" || inv.Stderr != "" || inv.Start == "" || inv.End != "" || inv.Done() {
		t.Fatalf("running: %+v", inv)
	}
	list, err := r.List(ctx, id)
	if err != nil || len(list) != 1 || list[0].Status != "InProgress" {
		t.Fatalf("listing %+v, %v", list, err)
	}
	if err := r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	s.Wait(id)
	if inv, err = r.Get(ctx, id, "localhost"); err != nil || inv.Status != "Cancelled" || inv.ExitCode != 137 || !inv.Done() {
		t.Fatalf("after the cancel: %+v, %v", inv, err)
	}
	// SSM's typed errors reach the SDK as such.
	err = r.Cancel(ctx, "no-such-command")
	if err == nil || !strings.Contains(err.Error(), "InvalidCommandId") {
		t.Fatalf("cancelling an unknown command: %v", err)
	}
}
