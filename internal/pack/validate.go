package pack

import (
	"strings"

	"github.com/medic-sre/medic/internal/rule"

	"github.com/medic-sre/medic/internal/template"
)

// validate checks what single files cannot: references between them.
func (s *Set) validate(ps *problems) {
	for _, r := range s.Rules() {
		if r.TriggerType != "" && !validateTrigger(r, ps) {
			ps.add(r.File, r.Line("trigger.type"), "trigger.type", "unknown trigger type %q (known: %s)",
				r.TriggerType, strings.Join(KnownTriggerTypes(), ", "))
		}
		if r.Action.Ref == "" {
			continue
		}
		a, ok := s.Action(r.Action.Ref)
		if !ok {
			ps.add(r.File, r.Line("action.ref"), "action.ref", "unknown action %q (known: %s)",
				r.Action.Ref, strings.Join(sortedKeys(s.actions), ", "))
			continue
		}
		s.Annotate(r)
		for _, name := range sortedKeys(r.Action.Parameters) {
			field := "action.parameters." + name
			p, ok := a.Parameters[name]
			switch {
			case !ok:
				ps.add(r.File, r.Line(field), field, "not a parameter of %s (known: %s)", a.Ref, strings.Join(sortedKeys(a.Parameters), ", "))
			case p.Immutable:
				ps.add(r.File, r.Line(field), field, "is immutable in %s and cannot be set by a rule", a.Ref)
			default:
				s.checkStaticValue(r.File, r.Line(field), field, p, r.Action.Parameters[name], ps)
			}
		}
	}
	for _, al := range s.Aliases() {
		s.validateAlias(al, ps)
	}
	for _, pol := range s.Policies() {
		s.validatePolicy(pol, ps)
	}
}

// checkStaticValue type-checks a parameter value that has no template in it:
// it will never change, so a bad one is a load-time error.
func (s *Set) checkStaticValue(file string, line int, field string, p *Param, v any, ps *problems) {
	if str, ok := v.(string); ok && template.IsTemplate(str) {
		return
	}
	if hasTemplate(v) {
		return
	}
	if v == nil {
		return
	}
	if _, refused := p.resolve(v); len(refused) > 0 {
		ps.add(file, line, field, "%s", strings.Join(refused, "; "))
	}
}

func hasTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return template.IsTemplate(x)
	case map[string]any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	}
	return false
}

// Annotate copies what the rule needs to know of its action (which
// parameters are secret, so explanations mask them) from the set. Rules
// loaded by LoadDir are annotated already; a rule loaded on its own (the
// rule tester) is not.
func (s *Set) Annotate(r *rule.Rule) {
	a, ok := s.Action(r.Action.Ref)
	if !ok {
		return
	}
	r.SecretParams = map[string]bool{}
	for name, p := range a.Parameters {
		if p.Secret {
			r.SecretParams[name] = true
		}
	}
}

func (s *Set) validatePolicy(pol *Policy, ps *problems) {
	if pol.ResourceRef == "" {
		return
	}
	a, ok := s.Action(pol.ResourceRef)
	if !ok {
		ps.add(pol.File, pol.Lines["resource_ref"], "resource_ref", "unknown action %q", pol.ResourceRef)
		return
	}
	for _, attr := range pol.Attributes {
		if _, ok := a.Parameters[attr]; !ok {
			ps.add(pol.File, pol.Lines["parameters"], "parameters.attributes", "%q is not a parameter of %s", attr, a.Ref)
		}
	}
}
