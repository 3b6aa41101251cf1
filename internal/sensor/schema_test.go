package sensor

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/medic-sre/medic/internal/trigger"
)

// TestEverySamplePayloadMatchesItsSchema checks the payloads the sensors
// build against the schemas `medic triggers list` publishes, for every
// valid sample. Payloads are validated as built, not after a JSON round
// trip, which also holds them to plain JSON value types.
func TestEverySamplePayloadMatchesItsSchema(t *testing.T) {
	schemas := map[string]*jsonschema.Schema{}
	for _, info := range trigger.Types() {
		schemas[info.Name] = compileSchema(t, info.Name, info.PayloadSchema)
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "invalid") || isControl(path) {
			return err
		}
		rel, _ := filepath.Rel(eventsDir, path)
		in := Request{}
		if strings.HasPrefix(rel, "webhook"+string(filepath.Separator)) {
			in = Request{Hint: HintWebhook, Path: "/v1/webhooks/sample", Headers: map[string]string{"User-Agent": "test"}}
		}
		triggers, err := Parse(readEvent(t, rel), in)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		for _, tr := range triggers {
			seen[tr.Type] = true
			s, ok := schemas[tr.Type]
			if !ok {
				t.Errorf("%s: type %s has no schema", rel, tr.Type)
				continue
			}
			if err := s.Validate(tr.Payload); err != nil {
				t.Errorf("%s: payload does not match the %s schema: %v", rel, tr.Type, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range schemas {
		if !seen[name] {
			t.Errorf("no sample event produces a %s trigger", name)
		}
	}
}

func compileSchema(t *testing.T, name string, raw []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(name+".json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchemaRefusesAWrongPayload(t *testing.T) {
	info, _ := trigger.LookupType(trigger.TypeCloudWatchAlarm)
	s := compileSchema(t, info.Name, info.PayloadSchema)
	tr := parseOne(t, "cloudwatch/eventbridge-alarm-state-change.json", Request{})
	tr.Payload["state"] = "ON_FIRE"
	tr.Payload["time"] = "yesterday"
	if err := s.Validate(tr.Payload); err == nil {
		t.Error("a payload with state ON_FIRE and time \"yesterday\" passed the schema")
	}
}

// isControl reports the samples of control events (the consolidation
// flush, Step Functions' status changes): they are not alerts, and the
// ingest Lambda handles them before intake (internal/ingest tests them).
func isControl(path string) bool {
	return filepath.Base(filepath.Dir(path)) == "control"
}
