package asl

import (
	"encoding/json"
	"fmt"

	"github.com/medic-sre/medic/internal/asl/jsonorder"
)

// normalize turns v into plain JSON values (map[string]any, []any, string,
// float64, bool, nil), copying as it goes (objects keep their key order, see
// package jsonorder), so executions never share mutable data with callers
// or task handlers. Values of other types (a
// handler's result struct) go through encoding/json, as over the wire.
func normalize(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, float64, bool:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			n, err := normalize(item)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		jsonorder.Inherit(out, v, "")
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			n, err := normalize(item)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T is not JSON: %w", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// deepCopy copies a plain JSON value.
func deepCopy(v any) any {
	out, err := normalize(v)
	if err != nil {
		return v // only plain values are copied; they cannot fail
	}
	return out
}
