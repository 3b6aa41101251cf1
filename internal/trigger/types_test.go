package trigger

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestEveryTypeHasACompilingSchema(t *testing.T) {
	want := []string{TypeIntervalTimer, TypeCronTimer, TypeWebhook, TypeCloudWatchAlarm, TypeAlertmanager}
	for _, name := range want {
		info, ok := LookupType(name)
		if !ok {
			t.Errorf("type %s is not registered", name)
			continue
		}
		if info.Description == "" {
			t.Errorf("%s has no description", name)
		}
		compile(t, name+"/payload", info.PayloadSchema)
		if info.ParametersSchema != nil {
			compile(t, name+"/parameters", info.ParametersSchema)
		}
	}
	if got := len(Types()); got != len(want) {
		t.Errorf("%d types registered, want %d", got, len(want))
	}
}

func compile(t *testing.T, name string, raw []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name+".json", doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s, err := c.Compile(name + ".json")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestTimerParameterSchemas(t *testing.T) {
	info, _ := LookupType(TypeIntervalTimer)
	s := compile(t, "interval", info.ParametersSchema)
	if err := s.Validate(map[string]any{"unit": "minutes", "delta": 5.0}); err != nil {
		t.Errorf("valid parameters refused: %v", err)
	}
	if err := s.Validate(map[string]any{"unit": "fortnights", "delta": 5.0}); err == nil {
		t.Error("bad unit accepted")
	}
}
