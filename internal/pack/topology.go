package pack

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/dispatch"
)

// topologySpec is one entry of pack.yaml's `topology:` list
// (docs/packs.md, "Topology"):
//
//	topology:
//	  - name: app-needs-db
//	    dependents: ['instance=~"app-.*"']
//	    depends_on: ['instance=~"db-main(:[0-9]+)?"']
type topologySpec struct {
	Name       string   `yaml:"name"`
	Dependents []string `yaml:"dependents"`
	DependsOn  []string `yaml:"depends_on"`
}

var topologyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Topology is every pack's declared dependencies.
func (s *Set) Topology() []dispatch.Dependency {
	var out []dispatch.Dependency
	for _, p := range s.Packs {
		out = append(out, p.Topology...)
	}
	return out
}

// parseTopology reads pack.yaml's topology list; problems name the entry
// and field. Each dependency is named "<pack>.<name>".
func parseTopology(file, packRef string, n *yaml.Node, ps *problems) []dispatch.Dependency {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.add(file, n.Line, "topology", "must be a list of {name, dependents, depends_on}")
		return nil
	}
	var deps []dispatch.Dependency
	seen := map[string]bool{}
	for i, entry := range n.Content {
		field := fmt.Sprintf("topology[%d]", i)
		var spec topologySpec
		if err := decodeStrict(entry, &spec); err != nil {
			ps.add(file, entry.Line, field, "%v", err)
			continue
		}
		if !topologyName.MatchString(spec.Name) {
			ps.add(file, entry.Line, field+".name", "%q: want 1-64 of A-Z, a-z, 0-9, '_', '.', '-'", spec.Name)
			continue
		}
		if seen[spec.Name] {
			ps.add(file, entry.Line, field+".name", "%q appears twice", spec.Name)
			continue
		}
		seen[spec.Name] = true
		d := dispatch.Dependency{Name: packRef + "." + spec.Name}
		var ok bool
		if d.Dependents, ok = topologyMatchers(file, entry.Line, field+".dependents", spec.Dependents, ps); !ok {
			continue
		}
		if d.DependsOn, ok = topologyMatchers(file, entry.Line, field+".depends_on", spec.DependsOn, ps); !ok {
			continue
		}
		deps = append(deps, d)
	}
	return deps
}

// topologyMatchers compiles one side. A side that would match an alert
// with no labels matches every alert (every alert a symptom, or a root):
// refused, as silences are.
func topologyMatchers(file string, line int, field string, specs []string, ps *problems) (alert.Matchers, bool) {
	if len(specs) == 0 {
		ps.add(file, line, field, "is required: a list of label matchers")
		return nil, false
	}
	ms, err := alert.ParseMatchers(specs)
	if err != nil {
		ps.add(file, line, field, "%v", err)
		return nil, false
	}
	if ms.Matches(map[string]string{}) {
		ps.add(file, line, field, "matches an alert with no labels, so it would match every alert")
		return nil, false
	}
	return ms, true
}
