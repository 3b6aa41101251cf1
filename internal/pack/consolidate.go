package pack

import (
	"bytes"
	"fmt"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/yamlerr"
)

// Consolidation is how alerts matched by the rule ref are grouped and
// guarded: the pack's `consolidate:` block with the rule's own block over
// it, or the defaults (Alertmanager's timers, the guard's limits) when
// neither has one.
func (s *Set) Consolidation(ref string) dispatch.Config {
	if c, ok := s.consolidation[ref]; ok {
		return c
	}
	return dispatch.Config{Rule: ref}
}

// decodeConsolidation checks and keeps r's consolidation; a bad block is
// a problem naming the file that holds it and the field.
func (s *Set) decodeConsolidation(p *Pack, r *rule.Rule, ps *problems) {
	if p.Consolidate == nil && r.Consolidate == nil {
		return
	}
	file, line := r.File, r.Line("consolidate")
	if r.Consolidate == nil {
		file, line = filepath.Join(p.Dir, "pack.yaml"), p.Consolidate.Line
	}
	c, err := dispatch.DecodeConfig(mergeMappings(p.Consolidate, r.Consolidate), r.Ref)
	if err != nil {
		ps.add(file, line, "consolidate", "%v", err)
		return
	}
	s.consolidation[r.Ref] = c
}

// mergeMappings overlays over on base key by key (nested mappings such as
// guard: merge too). Either may be nil; a non-mapping over wins whole, so
// the decoder reports its type.
func mergeMappings(base, over *yaml.Node) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode {
		if over == nil {
			return base
		}
		return over
	}
	if over == nil {
		return base
	}
	if over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: over.Line, Column: over.Column}
	at := map[string]int{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		at[base.Content[i].Value] = len(out.Content) + 1
		out.Content = append(out.Content, base.Content[i], base.Content[i+1])
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j, ok := at[k.Value]; ok {
			out.Content[j] = mergeMappings(out.Content[j], v)
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	return out
}

// InhibitRules are every pack's inhibit_rules: an inhibition written in
// one pack (an instance-down alert) mutes alerts that rules of any pack
// match.
func (s *Set) InhibitRules() []inhibit.Rule {
	var out []inhibit.Rule
	for _, p := range s.Packs {
		out = append(out, p.Inhibitions...)
	}
	return out
}

// parseInhibitRules reads pack.yaml's inhibit_rules list; problems name the
// entry and field.
func parseInhibitRules(file string, n *yaml.Node, ps *problems) []inhibit.Rule {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.add(file, n.Line, "inhibit_rules", "must be a list of {name, source_matchers, target_matchers, equal}")
		return nil
	}
	var rules []inhibit.Rule
	for i, entry := range n.Content {
		field := fmt.Sprintf("inhibit_rules[%d]", i)
		var spec inhibit.Spec
		if err := decodeStrict(entry, &spec); err != nil {
			ps.add(file, entry.Line, field, "%v", err)
			continue
		}
		if spec.Name == "" {
			spec.Name = field
		}
		compiled, err := inhibit.Compile([]inhibit.Spec{spec})
		if err != nil {
			ps.add(file, entry.Line, field, "%v", err)
			continue
		}
		rules = append(rules, compiled...)
	}
	return rules
}

// decodeStrict decodes a node refusing unknown fields, which Node.Decode
// cannot do.
func decodeStrict(n *yaml.Node, out any) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return yamlerr.Clean(dec.Decode(out))
}
