package pack

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/rule"
)

// Action is one st2 action.
type Action struct {
	Ref, Pack, Name, Description, RunnerType, EntryPoint, File string
	Enabled                                                    bool
	// Handling is how the action treats the incident it is run for:
	// HandlingAuto, HandlingApproval, HandlingEvidence, or "" when the
	// action does not say (Medic's own metadata; st2 has no such field).
	// `medic packs coverage` reports it.
	Handling   string
	Parameters map[string]*Param
	// Lines maps "parameters.NAME" to its line in File.
	Lines map[string]int
}

// Param is one parameter in StackStorm's schema.
type Param struct {
	Type        string // string, integer, number, boolean, array, object, null; "" accepts anything
	Description string
	Required    bool
	Default     any
	HasDefault  bool
	Enum        []any
	Immutable   bool
	Secret      bool
	Position    *int
	Constraints
}

var actionFields = []string{"name", "pack", "ref", "description", "enabled", "runner_type", "entry_point",
	"parameters", "tags", "notify", "output_schema", "metadata_file", "uid", "id", "handling"}

// Values of an action's `handling` field.
const (
	// HandlingAuto: the action fixes the resource itself, verifies the fix
	// and escalates when it did not work.
	HandlingAuto = "auto"
	// HandlingApproval: the action proposes a fix that runs only after a
	// person approves it.
	HandlingApproval = "approval"
	// HandlingEvidence: the action collects evidence and escalates to a
	// person without changing anything.
	HandlingEvidence = "evidence"
)

var handlings = []string{HandlingAuto, HandlingApproval, HandlingEvidence}

var paramFields = []string{"type", "description", "required", "default", "enum", "immutable", "secret",
	"position", "items", "properties", "additionalProperties", "minimum", "maximum", "minLength",
	"maxLength", "minItems", "maxItems", "pattern", "format", "not_under", "title"}

var paramTypes = map[string]bool{"string": true, "integer": true, "number": true, "boolean": true,
	"array": true, "object": true, "null": true}

func parseAction(path string, data []byte, packName string, ps *problems) *Action {
	d, ok := parseDoc(path, data, actionFields, ps)
	if !ok {
		return nil
	}
	a := &Action{
		File:        path,
		Name:        d.str("name", ps),
		Pack:        d.str("pack", ps),
		Description: d.str("description", ps),
		RunnerType:  d.str("runner_type", ps),
		EntryPoint:  d.str("entry_point", ps),
		Enabled:     d.boolean("enabled", true, ps),
		Handling:    d.str("handling", ps),
		Parameters:  map[string]*Param{},
		Lines:       map[string]int{},
	}
	a.Lines["entry_point"] = d.line("entry_point")
	checkOwner(d, packName, &a.Pack, ps)
	if a.Name == "" {
		ps.add(path, 1, "name", "is required")
	}
	if a.RunnerType == "" {
		ps.add(path, 1, "runner_type", "is required")
	}
	if a.Handling != "" && !slices.Contains(handlings, a.Handling) {
		ps.add(path, d.line("handling"), "handling", "must be %s, got %q", strings.Join(handlings, ", "), a.Handling)
	}
	a.Ref = a.Pack + "." + a.Name
	for _, f := range mappingEntries(path, "parameters", d.node("parameters"), ps) {
		name := f.key.Value
		a.Lines["parameters."+name] = f.key.Line
		if p := parseParam(path, "parameters."+name, f.val, ps); p != nil {
			a.Parameters[name] = p
		}
	}
	return a
}

// checkOwner makes a file's `pack:` agree with the pack folder it is in.
func checkOwner(d *doc, packName string, pack *string, ps *problems) {
	if *pack == "" {
		*pack = packName
		return
	}
	if *pack != packName {
		ps.add(d.file, d.line("pack"), "pack", "says %q but the file is in pack %q", *pack, packName)
		*pack = packName
	}
}

func parseParam(file, name string, n *yaml.Node, ps *problems) *Param {
	entries := mappingEntries(file, name, n, ps)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	p := &Param{}
	lines := map[string]int{"default": n.Line, "enum": n.Line}
	known := map[string]bool{}
	for _, f := range paramFields {
		known[f] = true
	}
	for _, f := range entries {
		k, v := f.key.Value, f.val
		fieldName := name + "." + k
		lines[k] = f.key.Line
		if p.parseConstraint(file, fieldName, k, v, ps) {
			continue
		}
		switch k {
		case "type":
			p.Type = scalarString(file, fieldName, v, ps)
			if !paramTypes[p.Type] {
				ps.add(file, v.Line, fieldName, "unknown type %q (want string, integer, number, boolean, array, object or null)", p.Type)
			}
		case "description":
			p.Description = scalarString(file, fieldName, v, ps)
		case "required":
			p.Required = scalarBool(file, fieldName, v, false, ps)
		case "immutable":
			p.Immutable = scalarBool(file, fieldName, v, false, ps)
		case "secret":
			p.Secret = scalarBool(file, fieldName, v, false, ps)
		case "default":
			val, err := rule.DecodeValue(v)
			if err != nil {
				ps.add(file, v.Line, fieldName, "%v", err)
			}
			p.Default, p.HasDefault = val, true
		case "enum":
			val, err := rule.DecodeValue(v)
			list, ok := val.([]any)
			if err != nil || !ok {
				ps.add(file, v.Line, fieldName, "must be a list of allowed values")
			}
			p.Enum = list
		case "position":
			var pos int
			if v.Decode(&pos) != nil || pos < 0 {
				ps.add(file, v.Line, fieldName, "must be a non-negative integer")
			} else {
				p.Position = &pos
			}
		default:
			if !known[k] {
				ps.add(file, f.key.Line, fieldName, "unknown parameter attribute (known: %s)", strings.Join(paramFields, ", "))
			}
		}
	}
	checkSchema(file, name, p, lines, ps)
	return p
}

// ResolveParams turns a rule's rendered parameters into the action's final
// parameters (callers check Enabled: StackStorm refuses to run a disabled
// action). Then: unknown names are refused, immutable ones may not be given,
// defaults fill the gaps, values are cast to the declared type (the string
// "5" becomes the integer 5), then required, enum and the constraints
// (pattern, format, bounds, lengths, not_under, items) are enforced on the
// canonical value, which is what is returned: an absolute-path "//etc"
// comes back as "/etc". Every problem is reported, not just the first, in
// a *ParamError.
func (a *Action) ResolveParams(given map[string]any) (map[string]any, error) {
	var errs []string
	out := map[string]any{}
	for _, name := range sortedKeys(given) {
		p, ok := a.Parameters[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("parameter %q is not in the action's schema (known: %s)", name, strings.Join(sortedKeys(a.Parameters), ", ")))
		case p.Immutable:
			errs = append(errs, fmt.Sprintf("parameter %q is immutable and cannot be set", name))
		default:
			out[name] = given[name]
		}
	}
	for _, name := range sortedKeys(a.Parameters) {
		p := a.Parameters[name]
		v, ok := out[name]
		if s, isStr := v.(string); isStr && s == "" && p.Type != "string" && p.Type != "" {
			// A template that rendered nothing (say an absent st2kv key)
			// means "no value" for a typed parameter, not a cast error.
			v = nil
		}
		if !ok || v == nil {
			if p.HasDefault && p.Default != nil {
				out[name], ok = p.Default, true
			} else if ok {
				delete(out, name) // an explicit null means "not set"
				ok = false
			}
		}
		if !ok {
			if p.Required {
				errs = append(errs, fmt.Sprintf("parameter %q is required", name))
			}
			continue
		}
		v, refused := p.resolve(out[name])
		for _, why := range refused {
			errs = append(errs, fmt.Sprintf("parameter %q: %s", name, why))
		}
		out[name] = v
	}
	if len(errs) > 0 {
		return nil, &ParamError{Action: a.Ref, Problems: errs}
	}
	return out, nil
}

// ParamError is every reason ResolveParams refused an action's parameters,
// each naming the parameter and the type or constraint it breaks. Nothing
// may run: the same parameters are refused the same way every time.
type ParamError struct {
	Action   string
	Problems []string
}

func (e *ParamError) Error() string { return strings.Join(e.Problems, "; ") }

// SecretMask replaces secret parameter values in logs and records.
const SecretMask = rule.SecretMask

// MaskSecrets returns a copy of params with secret parameters masked.
func (a *Action) MaskSecrets(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if p, ok := a.Parameters[k]; ok && p.Secret {
			v = SecretMask
		}
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
