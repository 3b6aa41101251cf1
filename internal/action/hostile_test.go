package action

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

type noKV struct{}

func (noKV) Get(string) (string, bool, error) { return "", false, nil }

func loadTestPacks(t *testing.T) *pack.Set {
	t.Helper()
	set, err := pack.LoadDir("testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func loadTestAction(t *testing.T, ref string) *pack.Action {
	t.Helper()
	a, ok := loadTestPacks(t).Action(ref)
	if !ok {
		t.Fatalf("no action %s", ref)
	}
	return a
}

// hostilePayloads are alert values that would run commands if any of them
// reached a shell unquoted.
var hostilePayloads = []string{
	`'; touch PWNED; echo '`,
	`"; touch PWNED; echo "`,
	`$(touch PWNED)`,
	"`touch PWNED`",
	"x\ntouch PWNED",
	`x; touch PWNED`,
	`x && touch PWNED || touch PWNED`,
	`$((1+1)) ${HOME} $0 \ \\ '\''`,
	"-n", // an option-looking value
	"tab\there | touch PWNED > /dev/null",
}

// firedPlan takes one hostile trigger through the whole path: rule YAML,
// criteria, Jinja params, the action's schema, and the runner's plan.
func firedPlan(t *testing.T, set *pack.Set, kind, payload string) (Plan, *pack.Action, map[string]any) {
	t.Helper()
	tr := trigger.Trigger{ID: "t1", Type: trigger.TypeWebhook, Time: time.Now(), Payload: map[string]any{
		"url": "hostile", "body": map[string]any{"kind": kind, "message": payload, "host": "localhost"},
	}}
	var fired []rule.Evaluation
	for _, ev := range rule.NewIndex(set.Rules()).Evaluate(tr, noKV{}) {
		if ev.Fires() {
			fired = append(fired, ev)
		}
	}
	if len(fired) != 1 {
		t.Fatalf("%s: %d rules fired, want 1", kind, len(fired))
	}
	a, _ := set.Action(fired[0].Rule.Action.Ref)
	params, err := a.ResolveParams(fired[0].Params)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Build(a, params, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return plan, a, params
}

// runScript runs a plan's script with sh in a scratch directory and
// reports its output and whether anything was created there.
func runScript(t *testing.T, script string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, out)
	}
	_, statErr := os.Stat(filepath.Join(dir, "PWNED"))
	return string(out), statErr == nil
}

func TestHostileAlertDataNeverReachesTheShell(t *testing.T) {
	set := loadTestPacks(t)
	for _, payload := range hostilePayloads {
		plan, _, _ := firedPlan(t, set, "echo", payload)
		script := planScript(plan)
		out, pwned := runScript(t, script)
		if want := "message=" + payload + "|level=info"; out != want || pwned {
			t.Errorf("remote-shell-cmd with %q: saw %q (pwned=%v), want %q", payload, out, pwned, want)
		}

		plan, _, _ = firedPlan(t, set, "remediate", payload)
		out, pwned = runScript(t, plan.Input["commands"].(map[string]any)["diagnose"].(string))
		if out != payload || pwned {
			t.Errorf("remediation with %q: saw %q (pwned=%v)", payload, out, pwned)
		}

		plan, _, _ = firedPlan(t, set, "script", payload)
		out, pwned = runScript(t, planScript(plan))
		if want := "[" + payload + "]\n[localhost]\nmessage=[" + payload + "]\n"; out != want || pwned {
			t.Errorf("remote-shell-script with %q: saw %q (pwned=%v)", payload, out, pwned)
		}
	}
}

func TestHostileRunThroughTheWorkflow(t *testing.T) {
	plan, _, _ := firedPlan(t, loadTestPacks(t), "echo", hostilePayloads[0]+hostilePayloads[2]+hostilePayloads[4])
	h := newHarness(t)
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	got := invocations(t, out["results"])["localhost"]["StandardOutputContent"]
	if want := "message=" + hostilePayloads[0] + hostilePayloads[2] + hostilePayloads[4] + "|level=info"; got != want {
		t.Fatalf("saw %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(h.tasks.SSM.Dir, "PWNED")); err == nil {
		t.Fatal("the payload ran a command")
	}
}

// The schema is enforced before anything runs, and secrets stay out of
// records and notifications.
func TestSchemaAndSecretsThroughTheRunner(t *testing.T) {
	a := loadTestAction(t, "hostile.echo_cmd")
	refusals := []struct {
		given map[string]any
		want  string
	}{
		{map[string]any{"message": "m"}, `"hosts" is required`},
		{map[string]any{"hosts": "h", "message": "m", "level": "debug"}, `"level": "debug" is not one of`},
		{map[string]any{"hosts": "h", "message": "m", "cmd": "rm -rf /"}, `"cmd" is immutable`},
		{map[string]any{"hosts": "h", "message": "m", "extra": 1}, `"extra" is not in the action's schema`},
	}
	for _, r := range refusals {
		if _, err := a.ResolveParams(r.given); err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%v: got %v, want %q", r.given, err, r.want)
		}
	}
	params, err := a.ResolveParams(map[string]any{"hosts": "localhost", "message": "m", "level": "critical"})
	if err != nil {
		t.Fatal(err)
	}
	if masked := a.MaskSecrets(params); masked["token"] != pack.SecretMask || masked["message"] != "m" {
		t.Fatalf("masked %v", masked)
	}
	plan, err := Build(a, params, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	if _, err := h.run(plan); err != nil {
		t.Fatal(err)
	}
	if n := h.lastNotice(); strings.Contains(toJSON(n), "s3cr3t-token") {
		t.Fatalf("the secret reached the notification: %v", n)
	}
}
