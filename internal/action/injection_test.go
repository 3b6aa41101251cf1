package action

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localrun"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/target"
)

// Regressions of option injection, unresolved paths and leaked secrets,
// each taken the way an attacker would: a raw alert body through the sensor,
// the shipped rules, the action's schema, the plan, and the local run.

// Values Medic's environment holds while these tests run: no command's
// output, record or notification may show them.
const (
	testSigningSecret = "signing-secret-9d3e1f"
	testBotToken      = "xoxb-bot-token-51c7aa"
)

func withMedicSecrets(t *testing.T) {
	t.Helper()
	t.Setenv("MEDIC_SLACK_SIGNING_SECRET", testSigningSecret)
	t.Setenv("MEDIC_SLACK_BOT_TOKEN", testBotToken)
}

// alertPlan parses body as Medic's sensor does, fires the shipped rules and
// plans the one that fires. refused is the planning refusal, if any: a
// stricter parameter schema may refuse a hostile value before anything runs.
func alertPlan(t *testing.T, body []byte, wantRule string) (plan Plan, refused error) {
	t.Helper()
	set := shippedPacks(t)
	triggers, err := sensor.Parse(body, sensor.Request{})
	if err != nil {
		t.Fatalf("sensor: %v", err)
	}
	var fired []rule.Evaluation
	for _, tr := range triggers {
		// The engine resolves an alert's instance (internal/engine/target.go);
		// these alerts name the local machine.
		tr.Payload["target"] = target.Payload(target.Target{InstanceID: target.LocalTarget, Source: "local"}, nil)
		for _, ev := range rule.NewIndex(set.Rules()).Evaluate(tr, noKV{}) {
			if ev.Fires() {
				fired = append(fired, ev)
			}
		}
	}
	if len(fired) != 1 || fired[0].Rule.Ref != wantRule {
		t.Fatalf("fired %d rules, want exactly %s", len(fired), wantRule)
	}
	a, _ := set.Action(fired[0].Rule.Action.Ref)
	params, err := a.ResolveParams(fired[0].Params)
	if err != nil {
		return Plan{}, err
	}
	plan, err = Build(a, params, Settings{})
	if err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// diskAlarm is the sample disk_used_percent alarm with its path dimension
// replaced.
func diskAlarm(t *testing.T, path string) []byte {
	t.Helper()
	var ev map[string]any
	raw, err := os.ReadFile("../../events/local/disk-full-alarm.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	metric := ev["detail"].(map[string]any)["configuration"].(map[string]any)["metrics"].([]any)[0].(map[string]any)
	metric["metricStat"].(map[string]any)["metric"].(map[string]any)["dimensions"].(map[string]any)["path"] = path
	body, _ := json.Marshal(ev)
	return body
}

// unitFailed is an Alertmanager SystemdUnitFailed alert for unit name on
// the local machine.
func unitFailed(name string) []byte {
	body, _ := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "medic", "groupKey": "{}:{alertname=\"SystemdUnitFailed\"}",
		"alerts": []any{map[string]any{
			"status": "firing", "startsAt": "2026-11-25T09:40:15Z", "fingerprint": "0123456789abcdef",
			"labels": map[string]any{"alertname": "SystemdUnitFailed", "name": name, "instance_id": "localhost"},
		}},
	})
	return body
}

// everything a run left behind that a person or Slack could read: the
// output or error and every notification.
func (h *harness) transcript(out map[string]any, err error) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errText string
	if err != nil {
		errText = err.Error()
	}
	return toJSON(out) + errText + toJSON(h.notified)
}

// shims puts logging stand-ins for commands first on the commands' PATH:
// each appends its argv (one line) to the returned log, then runs the real
// command when there is one.
func shims(t *testing.T, h *harness, names ...string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls.log")
	for _, name := range names {
		script := "#!/bin/sh\nprintf '%s' '" + name + "' >> '" + log + "'\nfor a; do printf ' [%s]' \"$a\" >> '" + log + "'; done\necho >> '" + log + "'\n"
		if real := realCommand(name); real != "" {
			script += "exec '" + real + "' \"$@\"\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.tasks.SSM.Path = dir + string(os.PathListSeparator) + localrun.DefaultPath
	return log
}

func realCommand(name string) string {
	for _, dir := range filepath.SplitList(localrun.DefaultPath) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

func readCalls(t *testing.T, log string) []string {
	t.Helper()
	raw, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n")
}

// optionCarrying reports whether a logged call ([arg] [arg]...) passes a
// value containing marker before its end of options.
func optionCarrying(call, marker string) bool {
	before, _, _ := strings.Cut(call, " [--] ")
	return strings.Contains(before, marker)
}

func TestDiskAlarmPathCannotBecomeADuOption(t *testing.T) {
	withMedicSecrets(t)
	canary := filepath.Join(t.TempDir(), "names")
	if err := os.WriteFile(canary, []byte("CANARY-FILE-CONTENT\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"--files0-from=/proc/self/environ", "--files0-from=" + canary, "-L", "--help"} {
		plan, refused := alertPlan(t, diskAlarm(t, path), "linux.free_disk_on_alarm")
		if refused != nil {
			continue // the schema refused it before anything ran
		}
		h := newHarness(t)
		log := shims(t, h, "du", "df", "ls", "find", "realpath")
		out, err := h.run(plan)
		all := h.transcript(out, err)
		for _, leak := range []string{testSigningSecret, testBotToken, "CANARY-FILE-CONTENT", "LC_ALL=", "PATH=", "Usage:"} {
			if strings.Contains(all, leak) {
				t.Errorf("path %q: %q reached the record or a notification:\n%s", path, leak, all)
			}
		}
		for _, call := range readCalls(t, log) {
			if optionCarrying(call, path) {
				t.Errorf("path %q reached a command as an option: %s", path, call)
			}
		}
		var aerr *asl.Error
		if !errors.As(err, &aerr) || aerr.Name != "Medic.RemediationFailed" || !strings.Contains(all, "refusing: the path is not absolute") {
			t.Errorf("path %q: want the commands to refuse it, got %v", path, err)
		}
	}
}

func TestUnitNameFromAnAlertCannotBecomeASystemctlOption(t *testing.T) {
	for _, name := range []string{"--host=evil.example", "-H evil", "-Hevil", "--machine=evil", "nginx --host=evil.example"} {
		plan, refused := alertPlan(t, unitFailed(name), "linux.restart_service_on_unit_failed")
		if refused != nil {
			continue
		}
		assertNoSystemctlOption(t, plan, name)
	}
}

func TestUnitNameFromChatCannotBecomeASystemctlOption(t *testing.T) {
	set := shippedPacks(t)
	var alias *pack.Alias
	for _, al := range set.Aliases() {
		if al.Ref == "linux.restart_service" {
			alias = al
		}
	}
	for _, name := range []string{"--host=evil.example", "-Hevil"} {
		given, ok := alias.Match("restart service " + name + " on localhost")
		if !ok {
			t.Fatalf("the alias does not match %q", name)
		}
		a, _ := set.Action(alias.ActionRef)
		params, err := a.ResolveParams(given)
		if err != nil {
			continue // refused at planning
		}
		plan, err := Build(a, params, Settings{})
		if err != nil {
			continue
		}
		assertNoSystemctlOption(t, plan, name)
	}
}

func assertNoSystemctlOption(t *testing.T, plan Plan, name string) {
	t.Helper()
	h := newHarness(t)
	log := shims(t, h, "systemctl", "journalctl", "ssh")
	plan.Input["max_attempts"] = 1.0
	out, err := h.run(plan)
	for _, call := range readCalls(t, log) {
		if strings.HasPrefix(call, "ssh") || optionCarrying(call, "evil") {
			t.Errorf("unit %q reached a command as an option: %s", name, call)
		}
	}
	if err == nil {
		t.Errorf("unit %q: the run succeeded: %s", name, toJSON(out))
	}
}

// free_disk resolves the path on the target (.., //, symlinks) before it
// checks for a system directory, and acts on the resolved path only.
func TestFreeDiskResolvesThePathBeforeItsSystemDirectoryCheck(t *testing.T) {
	link := filepath.Join(t.TempDir(), "x")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/etc", "//etc", "/tmp/../etc", "/tmp/./../etc/", link, link + "/ssl", "///usr//lib", "/"} {
		h := newHarness(t)
		log := shims(t, h, "find", "du", "df", "ls")
		_, err := runShippedUnchecked(t, h, "linux.free_disk", map[string]any{"target": "localhost", "path": path, "max_attempts": 1, "min_age_minutes": 0})
		var aerr *asl.Error
		if !errors.As(err, &aerr) || aerr.Name != "Medic.RemediationFailed" {
			t.Errorf("path %q: want Medic.RemediationFailed, got %v", path, err)
		}
		if calls := readCalls(t, log); len(calls) > 0 {
			t.Errorf("path %q resolves to a system directory, yet commands ran on it:\n%s", path, strings.Join(calls, "\n"))
		}
		if all := h.transcript(nil, err); !strings.Contains(all, "is a system directory") {
			t.Errorf("path %q: no refusal in the record:\n%s", path, all)
		}
	}
}

func TestFreeDiskCleansTheResolvedDirectory(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "scratch")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"a.tmp", "keep.log", "-rf.tmp"} {
		p := filepath.Join(real, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	log := shims(t, h, "find")
	if _, err := runShippedUnchecked(t, h, "linux.free_disk", map[string]any{"target": "localhost", "path": link + "/../link//"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"a.tmp": false, "-rf.tmp": false, "keep.log": true} {
		if _, err := os.Stat(filepath.Join(real, name)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", name, err == nil, want)
		}
	}
	if calls := readCalls(t, log); len(calls) != 1 || !strings.HasPrefix(calls[0], "find ["+real+"] ") {
		t.Errorf("find was not given the resolved path %s: %v", real, calls)
	}
}

// core.local cmd='env' shows the command's environment, never Medic's.
func TestLocalCommandsDoNotSeeMedicsEnvironment(t *testing.T) {
	withMedicSecrets(t)
	t.Setenv("MEDIC_TEST_MARKER", "medic-own-variable")
	h := newHarness(t)
	out, err := runShipped(t, h, "core.local", map[string]any{"cmd": "env; cat /proc/self/environ | tr '\\0' '\\n'"})
	if err != nil {
		t.Fatal(err)
	}
	stdout := invocations(t, out["results"])["localhost"]["StandardOutputContent"].(string)
	if !strings.Contains(stdout, "PATH="+localrun.DefaultPath) {
		t.Fatalf("no PATH in the command's environment:\n%s", stdout)
	}
	all := h.transcript(out, err)
	for _, leak := range []string{"MEDIC_SLACK_SIGNING_SECRET", "MEDIC_SLACK_BOT_TOKEN", testSigningSecret, testBotToken, "medic-own-variable"} {
		if strings.Contains(all, leak) {
			t.Errorf("%s reached the command or its record:\n%s", leak, all)
		}
	}
}

// A secret parameter a command prints (by mistake or by a hostile value
// steering it) is scrubbed from the output before the record sees it.
func TestSecretParametersAreScrubbedFromOutput(t *testing.T) {
	a := shellAction(RunnerLocalShellCmd, map[string]*pack.Param{"api_key": {Type: "string", Secret: true}})
	plan, err := Build(a, map[string]any{"cmd": `printf 'key=%s\n' "$api_key"; printf '%s' "$api_key" >&2`, "api_key": "ak-7f00c9e1"}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	inv := invocations(t, out["results"])["localhost"]
	if inv["StandardOutputContent"] != "key=[redacted]\n" || inv["StandardErrorContent"] != "[redacted]" {
		t.Fatalf("output %q / %q", inv["StandardOutputContent"], inv["StandardErrorContent"])
	}
	if all := h.transcript(out, nil); strings.Contains(all, "ak-7f00c9e1") {
		t.Fatalf("the secret reached a notification:\n%s", all)
	}
}
