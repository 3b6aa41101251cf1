package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTriggersListShowsEveryTypeWithItsFields(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"triggers", "list"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"aws.cloudwatch.alarm", "prometheus.alert", "core.st2.webhook", "core.st2.IntervalTimer", "core.st2.CronTimer",
		"    instance_id     string", "    state           ALARM|OK|INSUFFICIENT_DATA",
		"parameters (trigger.parameters):", "    unit            weeks|days|hours|minutes|seconds",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestTriggersListJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"triggers", "list", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var types []struct {
		Name          string         `json:"name"`
		PayloadSchema map[string]any `json:"payload_schema"`
	}
	if err := json.Unmarshal(out.Bytes(), &types); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(types) != 5 || types[0].Name != "aws.cloudwatch.alarm" || types[0].PayloadSchema["type"] != "object" {
		t.Errorf("types = %+v", types)
	}
}

func TestTriggersUsage(t *testing.T) {
	for _, args := range [][]string{{"triggers"}, {"triggers", "show"}, {"triggers", "list", "extra"}, {"triggers", "list", "--yaml"}} {
		var out, errOut bytes.Buffer
		if code := dispatch(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want usage and exit 2", args, code, errOut.String())
		}
	}
}
