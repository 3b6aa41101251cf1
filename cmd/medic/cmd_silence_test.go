package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	consolidate "github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/trigger"
)

// seedAlert records one firing alarm the way `medic serve` would, in the
// shared state directory.
func seedAlert(t *testing.T, dir, instance string) {
	t.Helper()
	store, err := state.OpenStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &consolidate.Consolidator{State: store}
	for i := 0; i < 3; i++ {
		_, err := c.Observe(context.Background(), trigger.Trigger{ID: instance + "-" + string(rune('a'+i)), Type: trigger.TypeCloudWatchAlarm,
			Time: time.Now(), Payload: map[string]any{"alarm_name": "disk-full", "state": "ALARM", "region": "eu-west-1",
				"dimensions": map[string]any{"InstanceId": instance}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSilenceLifecycleAndAlertsList(t *testing.T) {
	dir := t.TempDir()
	seedAlert(t, dir, "i-0abc")
	seedAlert(t, dir, "i-0def")
	code, out, errOut := run(t, "silence", "add", "alertname=disk-full", "InstanceId=~i-0a.*", "--for", "2h",
		"--comment", "resizing the volume", "--author", "ana", "--state", dir)
	if code != 0 || !strings.HasPrefix(out, "silence ") {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	id := strings.TrimSuffix(strings.Fields(out)[1], ":")

	code, out, _ = run(t, "silence", "list", "--state", dir)
	if code != 0 || !strings.Contains(out, id+"\tactive\t") || !strings.Contains(out, "by ana: resizing the volume") {
		t.Fatalf("list: %d %q", code, out)
	}

	code, out, _ = run(t, "alerts", "list", "--state", dir)
	if code != 0 {
		t.Fatalf("alerts list: %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "FINGERPRINT") {
		t.Fatalf("alerts list:\n%s", out)
	}
	for _, l := range lines[1:] {
		silenced := strings.Contains(l, "silenced:"+id)
		if strings.Contains(l, "i-0abc") != silenced || !strings.Contains(l, "\tfiring\t3\t") {
			t.Errorf("alert line %q (silenced=%v)", l, silenced)
		}
	}
	code, out, _ = run(t, "alerts", "list", "--json", "--state", dir)
	var views []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &views) != nil || len(views) != 2 || views[0]["count"] != float64(3) {
		t.Fatalf("alerts list --json: %d %s", code, out)
	}

	if code, out, errOut = run(t, "silence", "expire", id, "--state", dir); code != 0 || !strings.Contains(out, "expired") {
		t.Fatalf("expire: %d %q %q", code, out, errOut)
	}
	if _, out, errOut = run(t, "silence", "list", "--state", dir); out != "" || !strings.Contains(errOut, "no silences") {
		t.Fatalf("list after expire: %q %q", out, errOut)
	}
	if _, out, _ = run(t, "silence", "list", "--all", "--state", dir); !strings.Contains(out, id+"\texpired\t") {
		t.Fatalf("list --all: %q", out)
	}
	if code, _, errOut = run(t, "silence", "expire", "nope", "--state", dir); code != 1 || !strings.Contains(errOut, `silence not found: "nope"`) {
		t.Fatalf("expire unknown: %d %q", code, errOut)
	}
}

func TestSilenceAddErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"alertname", "--for", "1h", "--comment", "c"}, "want NAME OP VALUE"},
		{[]string{"a=b", "--comment", "c"}, "--for DURATION or --until"},
		{[]string{"a=b", "--for", "1h", "--until", "2030-01-01T00:00:00Z", "--comment", "c"}, "not both"},
		{[]string{"a=b", "--until", "tomorrow", "--comment", "c"}, "--until: \"tomorrow\" is not RFC3339"},
		{[]string{"a=b", "--for", "1h", "--author", "x"}, "comment: required"},
		{[]string{"a=~.*", "--for", "1h", "--comment", "c", "--author", "x"}, "would also match an alert with no labels"},
		{[]string{"a=b", "--until", "2001-01-01T00:00:00Z", "--comment", "c", "--author", "x"}, "is not after starts_at"},
	}
	for _, c := range cases {
		args := append([]string{"silence", "add"}, c.args...)
		args = append(args, "--state", dir)
		code, _, errOut := run(t, args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, errOut, c.want)
		}
	}
	if code, _, errOut := run(t, "silence"); code != 2 || !strings.Contains(errOut, "usage: medic silence add") {
		t.Errorf("no verb: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "alerts", "show"); code != 2 || !strings.Contains(errOut, "usage: medic alerts") {
		t.Errorf("bad verb: %d %q", code, errOut)
	}
}

func TestAlertsGroups(t *testing.T) {
	dir := t.TempDir()
	store, _ := state.OpenStateDir(dir)
	c := &consolidate.Consolidator{State: store}
	ctx := context.Background()
	obs, err := c.Observe(ctx, trigger.Trigger{ID: "g1", Type: trigger.TypeCloudWatchAlarm, Time: time.Now(),
		Payload: map[string]any{"alarm_name": "disk-full", "state": "ALARM", "dimensions": map[string]any{"InstanceId": "i-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admit(ctx, obs, consolidate.Config{Rule: "linux.free_disk"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "alerts", "groups", "--state", dir)
	if code != 0 || !strings.Contains(out, "linux.free_disk{") || !strings.Contains(out, "1 alerts, 1 firing\tacted 0 times, last never") {
		t.Fatalf("groups: %d %q", code, out)
	}
}
