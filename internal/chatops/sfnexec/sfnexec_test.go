package sfnexec

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/medic-sre/medic/internal/awsfake"
	"github.com/medic-sre/medic/internal/execution"
)

const (
	machineRun = "arn:aws:states:us-east-1:123456789012:stateMachine:medic-run-command"
	machineRem = "arn:aws:states:us-east-1:123456789012:stateMachine:medic-remediate"
)

type fakeExecution struct {
	Machine, Name, Status, Input, Output, Error string
	Start, Stop                                 float64
	History                                     []map[string]any
}

func (e fakeExecution) arn() string {
	return strings.Replace(e.Machine, ":stateMachine:", ":execution:", 1) + ":" + e.Name
}

// newReader serves execs over the Step Functions JSON protocol
// (internal/awsfake) for the three calls the reader makes.
func newReader(t *testing.T, execs ...fakeExecution) (*Reader, *awsfake.Server) {
	find := func(in map[string]any) (fakeExecution, error) {
		for _, e := range execs {
			if e.arn() == in["executionArn"] {
				return e, nil
			}
		}
		return fakeExecution{}, &awsfake.Error{Status: http.StatusBadRequest, Type: "ExecutionDoesNotExist",
			Message: fmt.Sprintf("Execution Does Not Exist: '%s'", in["executionArn"])}
	}
	srv := awsfake.New(t, awsfake.StepFunctions).
		Handle("ListExecutions", func(in map[string]any) (any, error) {
			var items []map[string]any
			for _, e := range execs {
				if e.Machine == in["stateMachineArn"] {
					items = append(items, map[string]any{"executionArn": e.arn(), "stateMachineArn": e.Machine, "name": e.Name, "status": e.Status, "startDate": e.Start})
				}
			}
			return map[string]any{"executions": items}, nil
		}).
		Handle("DescribeExecution", func(in map[string]any) (any, error) {
			e, err := find(in)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"executionArn": e.arn(), "stateMachineArn": e.Machine, "name": e.Name, "status": e.Status, "startDate": e.Start, "input": e.Input}
			if e.Stop != 0 {
				out["stopDate"] = e.Stop
			}
			if e.Output != "" {
				out["output"] = e.Output
			}
			if e.Error != "" {
				out["error"], out["cause"] = e.Error, "verification failed"
			}
			return out, nil
		}).
		Handle("GetExecutionHistory", func(in map[string]any) (any, error) {
			e, err := find(in)
			if err != nil {
				return nil, err
			}
			return map[string]any{"events": e.History}, nil
		})
	client := sfn.NewFromConfig(srv.Config())
	return &Reader{API: client, Machines: map[string]string{"run-command": machineRun, "remediate": machineRem}}, srv
}

var t0 = float64(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix())

func sample() []fakeExecution {
	return []fakeExecution{
		{Machine: machineRun, Name: "chatops-ops-restart-aaa", Status: "SUCCEEDED", Start: t0, Stop: t0 + 3,
			Input: `{"send_command":{"Parameters":{"commands":["systemctl restart nginx"]}},"notify":{"action":"ops.restart"}}`, Output: `{"ok":true}`,
			History: []map[string]any{
				{"id": 1, "type": "ExecutionStarted", "timestamp": t0},
				{"id": 2, "type": "TaskStateEntered", "timestamp": t0, "stateEnteredEventDetails": map[string]any{"name": "SendCommand"}},
				{"id": 3, "type": "TaskSucceeded", "timestamp": t0 + 1, "taskSucceededEventDetails": map[string]any{"resourceType": "aws-sdk:ssm", "resource": "sendCommand", "output": `{"Command":{"CommandId":"c-1"}}`}},
			}},
		{Machine: machineRem, Name: "linux-disk-bbb", Status: "FAILED", Start: t0 + 60, Stop: t0 + 90, Error: "Medic.VerifyFailed",
			Input: `{"target":"i-1","notify":{"action":"linux.free_disk"}}`},
		{Machine: machineRun, Name: "older-ccc", Status: "RUNNING", Start: t0 - 600, Input: `{}`},
	}
}

func TestGetFindsTheExecutionUnderItsMachineWithItsTimeline(t *testing.T) {
	r, _ := newReader(t, sample()...)
	rec, err := r.Get("chatops-ops-restart-aaa")
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "chatops-ops-restart-aaa" || rec.StateMachine != "run-command" || rec.Action != "ops.restart" || rec.Status != execution.Succeeded {
		t.Fatalf("record = %+v", rec)
	}
	if rec.Stopped.Sub(rec.Started) != 3*time.Second || rec.Output.(map[string]any)["ok"] != true {
		t.Fatalf("times/output = %v %v %v", rec.Started, rec.Stopped, rec.Output)
	}
	var kinds []string
	for _, s := range rec.Timeline {
		kinds = append(kinds, s.Kind+":"+s.Name)
	}
	if got := strings.Join(kinds, " "); got != "state:SendCommand task:ssm:sendCommand outcome:SUCCEEDED" {
		t.Fatalf("timeline = %s", got)
	}
	if fmt.Sprint(rec.Params) != "map[]" || strings.Contains(fmt.Sprintf("%v", rec), "systemctl") {
		t.Fatalf("the unmasked input leaked into the record: %+v", rec)
	}

	failed, err := r.Get("linux-disk-bbb")
	if err != nil || failed.StateMachine != "remediate" || failed.Error != "Medic.VerifyFailed" || failed.Action != "linux.free_disk" {
		t.Fatalf("failed = %+v, %v", failed, err)
	}
	if _, err := r.Get("nope"); !errors.Is(err, execution.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestListIsNewestFirstAcrossMachines(t *testing.T) {
	r, f := newReader(t, sample()...)
	r.Recent = 2
	recs, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "linux-disk-bbb" || recs[1].ID != "chatops-ops-restart-aaa" || recs[1].Action != "ops.restart" {
		t.Fatalf("list = %+v", recs)
	}
	if n := f.Calls("DescribeExecution"); n != 2 {
		t.Fatalf("described %d executions, want only the 2 listed", n)
	}
}

func TestBadMachineARNIsNamed(t *testing.T) {
	r, _ := newReader(t)
	r.Machines = map[string]string{"x": "not-an-arn"}
	if _, err := r.Get("a"); err == nil || !strings.Contains(err.Error(), "not-an-arn") {
		t.Fatalf("err = %v", err)
	}
}
