package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `medic rule test` resolves a Prometheus alert's instance against the
// state directory's fleet file, as `medic serve` does, and says when the
// engine would refuse the rule for an unresolved target.
func TestRuleTestResolvesTheAlertsInstance(t *testing.T) {
	const rule = "../../packs/linux/rules/restart_service_on_unit_failed.yaml"
	const event = "../../events/topology/app-unit-failed-by-ip.json"
	state := t.TempDir()
	fleet := "instances:\n  - id: i-0app1\n    private_ip: 10.0.1.5\n"
	if err := os.WriteFile(filepath.Join(state, "fleet.yaml"), []byte(fleet), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "rule", "test", "--rule", rule, "--event", event, "--packs", "../../packs", "--state", state)
	if code != 0 || !strings.Contains(out, `target = "i-0app1"`) || strings.Contains(out, "would not run") {
		t.Errorf("resolved: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "rule", "test", "--rule", rule, "--event", event, "--state", t.TempDir())
	if code != 0 || !strings.Contains(out, "would not run this rule on this alert: target unresolved: no instance has this address: ipv4 10.0.1.5") {
		t.Errorf("unresolved: exit %d\n%s\n%s", code, out, errOut)
	}
}
