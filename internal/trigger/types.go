package trigger

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
)

// TypeInfo describes one trigger type, as st2's trigger types do: what it
// means, the JSON schema of its payload and, for timers, of the
// trigger.parameters a rule gives it.
type TypeInfo struct {
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	PayloadSchema    json.RawMessage `json:"payload_schema"`
	ParametersSchema json.RawMessage `json:"parameters_schema,omitempty"`
}

//go:embed schemas/*.json
var schemaFiles embed.FS

// registry is read once from the embedded schemas; a broken file is a
// build mistake, caught by this package's tests, so it panics.
var registry = loadTypes()

func loadTypes() map[string]TypeInfo {
	entries, err := schemaFiles.ReadDir("schemas")
	if err != nil {
		panic(err)
	}
	types := map[string]TypeInfo{}
	for _, e := range entries {
		b, err := schemaFiles.ReadFile("schemas/" + e.Name())
		if err != nil {
			panic(err)
		}
		var t TypeInfo
		if err := json.Unmarshal(b, &t); err != nil {
			panic(fmt.Sprintf("trigger schema %s: %v", e.Name(), err))
		}
		types[t.Name] = t
	}
	return types
}

// Types lists every trigger type, by name.
func Types() []TypeInfo {
	out := make([]TypeInfo, 0, len(registry))
	for _, t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupType returns the named trigger type.
func LookupType(name string) (TypeInfo, bool) {
	t, ok := registry[name]
	return t, ok
}
