package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// runMachinesDir holds copies of the state machines `medic run` tests
// need, so the tests do not depend on substitutions for unrelated machines.
func runMachinesDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join("../../statemachines", n+".asl.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n+".asl.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func medicRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	base := []string{"run", "--packs", "../../packs", "--statemachines", runMachinesDir(t, "run-command", "notify"), "--state", t.TempDir()}
	code := dispatch(append(base, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunExecutesAnActionLocallyAndPrintsTheTimeline(t *testing.T) {
	code, out, errs := medicRun(t, "core.local", `cmd=printf '%s' "$who"`, `env={"who":"it's me; $(id)"}`)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"execution run-core-local-", "task    GetInvocation: Success (exit 0)", "it's me; $(id)", "ended: SUCCEEDED"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestRunFailsWithTheCommand(t *testing.T) {
	code, out, _ := medicRun(t, "core.local", "cmd=exit 4")
	if code != 1 || !strings.Contains(out, "Failed (exit 4)") || !strings.Contains(out, "Medic.CommandFailed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestRunRefusesBadInvocations(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"core.notify", "severity=loud"}, `"severity": "loud" is not one of`},
		{[]string{"core.notify"}, `"message" is required`},
		{[]string{"core.nope"}, `action "core.nope" not found`},
		{[]string{"core.local", "cmd"}, `want key=value`},
		{[]string{"core.local", "cmd=true", "env={bad"}, `not valid JSON`},
		{[]string{"core.local", "cmd=a", "cmd=b"}, `given twice`},
		{[]string{"--aws", "core.local", "cmd=true"}, `MEDIC_STATE_MACHINES`},
	}
	t.Setenv("MEDIC_STATE_MACHINES", "")
	for _, c := range cases {
		code, _, errs := medicRun(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}

// fakeStepFunctions answers StartExecution and DescribeExecution (RUNNING
// once, then SUCCEEDED) over the JSON 1.0 protocol.
type fakeStepFunctions struct {
	mu        sync.Mutex
	started   map[string]any
	describes int
}

func (f *fakeStepFunctions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(raw, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch r.Header.Get("X-Amz-Target") {
	case "AWSStepFunctions.StartExecution":
		f.started = in
		json.NewEncoder(w).Encode(map[string]any{"executionArn": "arn:aws:states:us-east-1:1:execution:run-command:" + in["name"].(string), "startDate": 1.7e9})
	case "AWSStepFunctions.DescribeExecution":
		f.describes++
		out := map[string]any{"executionArn": in["executionArn"], "status": "RUNNING", "startDate": 1.7e9}
		if f.describes > 1 {
			out["status"], out["stopDate"], out["output"] = "SUCCEEDED", 1.7e9+12, `{"results":[]}`
		}
		json.NewEncoder(w).Encode(out)
	case "AWSStepFunctions.GetExecutionHistory":
		io.WriteString(w, `{"events":[{"id":1,"timestamp":1.7e9,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"SendCommand"}}]}`)
	default:
		http.Error(w, "unexpected", http.StatusBadRequest)
	}
}

func TestRunInAWSStartsAndFollowsTheExecution(t *testing.T) {
	fake := &fakeStepFunctions{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	arns := filepath.Join(t.TempDir(), "arns.json")
	os.WriteFile(arns, []byte(`{"run-command":"arn:aws:states:us-east-1:1:stateMachine:run-command"}`), 0o644)
	code, out, errs := medicRun(t, "--aws", "--state-machine-arns", arns, "--aws-poll-seconds", "0", "--output-log-group", "/medic/out",
		"core.remote", "cmd=uptime", "targets=tag:Role=web")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if fake.started["stateMachineArn"] != "arn:aws:states:us-east-1:1:stateMachine:run-command" {
		t.Fatalf("started %v", fake.started)
	}
	var input map[string]any
	json.Unmarshal([]byte(fake.started["input"].(string)), &input)
	run := input["run"].(map[string]any)
	if run["output_log_group"] != "/medic/out" || run["tag_targets"] == nil || run["commands"] == nil {
		t.Fatalf("run fields %v", run)
	}
	if strings.Count(out, "state   SendCommand") != 1 {
		t.Errorf("the timeline should show SendCommand once:\n%s", out)
	}
	for _, want := range []string{"execution ended: SUCCEEDED after 12s", `"results": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func FuzzParseKeyValues(f *testing.F) {
	f.Add("cmd=echo hi", `env={"A":"1"}`)
	f.Add("=x", "a")
	f.Add("k=[1,2", "k=v")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := parseKeyValues([]string{a, b})
		if err == nil && len(got) != 2 {
			t.Fatalf("%q %q: %v", a, b, got)
		}
	})
}
