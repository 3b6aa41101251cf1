package dispatch

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/sensor"
)

// A real Alertmanager group (prom2teams' fixture) whose two alerts share
// the sender's fingerprint but differ in labels: cs30 and cs31. Both must
// be kept through consolidation, as two alerts in one group, where trusting
// the sender's fingerprint took the second for a redelivery of the first.
func TestAlertsSharingASenderFingerprintAreBothKept(t *testing.T) {
	raw, err := os.ReadFile("../../events/alertmanager/webhook-shared-fingerprint.json")
	if err != nil {
		t.Fatal(err)
	}
	// The sample is a resolution; the same group firing is what would act.
	body := strings.ReplaceAll(string(raw), `"resolved"`, `"firing"`)
	triggers, err := sensor.Parse([]byte(body), sensor.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(triggers) != 2 {
		t.Fatalf("%d triggers, want 2", len(triggers))
	}
	f := newFixture(t)
	cfg := Config{Rule: "disk.clean", GroupBy: []string{"alertname"}}
	for _, tr := range triggers {
		obs := f.observe(tr)
		if obs.Duplicate {
			t.Fatalf("trigger %s (instance %v) taken for a duplicate delivery", tr.ID, tr.Payload["instance"])
		}
		if _, err := f.c.Admit(ctx, obs, cfg); err != nil {
			t.Fatal(err)
		}
	}
	alerts, err := f.c.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	instances := map[string]bool{}
	for _, a := range alerts {
		instances[a.Labels["instance"]] = true
	}
	if len(alerts) != 2 || !instances["cs30.evilcorp"] || !instances["cs31.evilcorp"] {
		t.Fatalf("alerts kept: %+v; want cs30 and cs31", alerts)
	}
	f.clock.Advance(31 * time.Second) // past group_wait
	fl := f.due()
	if len(fl) != 1 || len(fl[0].Alerts) != 2 {
		t.Fatalf("flush = %+v; want one group action over both alerts", fl)
	}
}
