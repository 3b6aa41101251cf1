package pack

import (
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/rule"
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
