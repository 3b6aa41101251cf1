package pack

import (
	"os"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/rule"
)

// defaultPack is StackStorm's pack for a rule that names none.
const defaultPack = "default"

var ruleFields = []string{"name", "pack", "ref", "description", "enabled", "trigger", "criteria", "action",
	"type", "tags", "metadata_file", "uid", "id", "context", "consolidate"}

// LoadRuleFile reads one rule file on its own (the rule tester's input).
// fallbackPack is used when the file has no `pack:` field.
func LoadRuleFile(path, fallbackPack string) (*rule.Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ps problems
	r := ParseRule(path, data, "", &ps)
	if r != nil {
		if r.Pack == defaultPack && fallbackPack != "" {
			r.Pack, r.Ref = fallbackPack, fallbackPack+"."+r.Name
		}
		ps.addAll(r.Compile())
	}
	if len(ps.list) > 0 {
		return r, rule.Problems(ps.list)
	}
	return r, nil
}

// ParseRule parses st2 rule YAML. Structural problems go to ps; the rule's
// own checks (operators, templates) come from r.Compile.
func ParseRule(path string, data []byte, packName string, ps *problems) *rule.Rule {
	d, ok := parseDoc(path, data, ruleFields, ps)
	if !ok {
		return nil
	}
	r := &rule.Rule{
		File:        path,
		Name:        d.str("name", ps),
		Pack:        d.str("pack", ps),
		Description: d.str("description", ps),
		Enabled:     d.boolean("enabled", true, ps),
		Lines:       map[string]int{},
	}
	for _, name := range d.order {
		r.Lines[name] = d.line(name)
	}
	if d.node("enabled") == nil {
		ps.add(path, 1, "enabled", "is required (true or false), as in StackStorm")
	}
	if packName != "" {
		checkOwner(d, packName, &r.Pack, ps)
	}
	if r.Pack == "" {
		r.Pack = defaultPack
	}
	if r.Name == "" {
		ps.add(path, 1, "name", "is required")
	}
	r.Ref = r.Pack + "." + r.Name
	parseRuleTrigger(d, r, ps)
	parseRuleAction(d, r, ps)
	r.Type = parseRuleType(d, ps)
	cs, cps := rule.ParseCriteria(d.node("criteria"), path, "criteria")
	ps.addAll(cps)
	r.Criteria = cs
	r.Consolidate = d.node("consolidate")
	return r
}

func parseRuleTrigger(d *doc, r *rule.Rule, ps *problems) {
	n := d.node("trigger")
	if n == nil {
		ps.add(d.file, 1, "trigger", "is required (trigger: {type: ...})")
		return
	}
	for _, f := range mappingEntries(d.file, "trigger", n, ps) {
		r.Lines["trigger."+f.key.Value] = f.key.Line
		switch f.key.Value {
		case "type", "ref":
			r.TriggerType = scalarString(d.file, "trigger."+f.key.Value, f.val, ps)
		case "parameters":
			for _, p := range mappingEntries(d.file, "trigger.parameters", f.val, ps) {
				r.Lines["trigger.parameters."+p.key.Value] = p.key.Line
			}
			r.TriggerParameters = decodeMap(d.file, "trigger.parameters", f.val, ps)
		case "description", "name", "pack":
		default:
			ps.add(d.file, f.key.Line, "trigger."+f.key.Value, "unknown field (want type, parameters)")
		}
	}
}

func parseRuleAction(d *doc, r *rule.Rule, ps *problems) {
	n := d.node("action")
	if n == nil {
		ps.add(d.file, 1, "action", "is required (action: {ref: pack.action})")
		return
	}
	for _, f := range mappingEntries(d.file, "action", n, ps) {
		r.Lines["action."+f.key.Value] = f.key.Line
		switch f.key.Value {
		case "ref":
			r.Action.Ref = scalarString(d.file, "action.ref", f.val, ps)
		case "parameters":
			for _, p := range mappingEntries(d.file, "action.parameters", f.val, ps) {
				r.Lines["action.parameters."+p.key.Value] = p.key.Line
			}
			r.Action.Parameters = decodeMap(d.file, "action.parameters", f.val, ps)
		case "description":
		default:
			ps.add(d.file, f.key.Line, "action."+f.key.Value, "unknown field (want ref, parameters)")
		}
	}
}

// parseRuleType reads st2's `type: {ref: standard|backstop}`; a plain
// string is accepted too.
func parseRuleType(d *doc, ps *problems) string {
	n := d.node("type")
	if n == nil || isNull(n) {
		return rule.TypeStandard
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	t := rule.TypeStandard
	for _, f := range mappingEntries(d.file, "type", n, ps) {
		switch f.key.Value {
		case "ref":
			t = scalarString(d.file, "type.ref", f.val, ps)
		case "parameters":
		default:
			ps.add(d.file, f.key.Line, "type."+f.key.Value, "unknown field (want ref)")
		}
	}
	return t
}

func decodeMap(file, name string, n *yaml.Node, ps *problems) map[string]any {
	if n == nil || isNull(n) {
		return nil
	}
	v, err := rule.DecodeValue(n)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		ps.add(file, n.Line, name, "must be a mapping")
		return nil
	}
	return m
}
