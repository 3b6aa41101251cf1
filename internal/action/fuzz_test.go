package action

import (
	"os/exec"
	"strings"
	"testing"
)

// FuzzAlertValueReachesTheCommandVerbatim: whatever an alert carries, the
// command sees exactly that value and nothing else runs.
func FuzzAlertValueReachesTheCommandVerbatim(f *testing.F) {
	for _, p := range hostilePayloads {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if strings.ContainsRune(value, 0) {
			return // a shell variable cannot hold NUL; nor can an SSM parameter
		}
		plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), map[string]any{
			"cmd": `printf '%s' "$v"`, "hosts": "h", "v": value,
		}, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		script := planScript(plan)
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil || string(out) != value {
			t.Fatalf("value %q: saw %q (%v)", value, out, err)
		}
	})
}

// FuzzTargets: hosts and targets strings from anywhere give a request or a
// clear error, never a panic or an empty target list.
func FuzzTargets(f *testing.F) {
	f.Add("i-1,i-2", "")
	f.Add("", "tag:Role=web,db;tag:Env=prod")
	f.Add("", "tag:Role")
	f.Add(" , ", "=;")
	f.Fuzz(func(t *testing.T, hosts, targets string) {
		params := map[string]any{"cmd": "true"}
		if hosts != "" {
			params["hosts"] = hosts
		}
		if targets != "" {
			params["targets"] = targets
		}
		plan, err := Build(shellAction(RunnerRemoteShellCmd, nil), params, Settings{})
		if err != nil {
			return
		}
		run := plan.Input["run"].(map[string]any)
		ids, _ := run["instance_ids"].([]any)
		tags, _ := run["tag_targets"].([]any)
		if len(ids) == 0 && len(tags) == 0 {
			t.Fatalf("hosts %q targets %q: a request without targets", hosts, targets)
		}
	})
}

func BenchmarkBuildCommandPlan(b *testing.B) {
	a := shellAction(RunnerRemoteShellCmd, nil)
	params := map[string]any{"cmd": `printf '%s' "$message"`, "hosts": "i-1,i-2", "message": hostilePayloads[0], "env": map[string]any{"A": "1", "B": "2"}}
	for b.Loop() {
		if _, err := Build(a, params, Settings{}); err != nil {
			b.Fatal(err)
		}
	}
}
