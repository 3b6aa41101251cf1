package pack

import (
	"strings"
	"testing"
)

func TestTopologyFromPackYAML(t *testing.T) {
	fsys := consolidationPacks("topology:\n  - name: app-needs-db\n    dependents: ['instance=~\"app-.*\"']\n"+
		"    depends_on: ['instance=~\"db-main(:[0-9]+)?\"']\n", nil)
	s, err := LoadFS(fsys, "packs")
	if err != nil {
		t.Fatal(err)
	}
	deps := s.Topology()
	if len(deps) != 1 || deps[0].Name != "p.app-needs-db" {
		t.Fatalf("%+v", deps)
	}
	if !deps[0].Dependents.Matches(map[string]string{"instance": "app-3:9100"}) ||
		!deps[0].DependsOn.Matches(map[string]string{"instance": "db-main:9187"}) ||
		deps[0].DependsOn.Matches(map[string]string{"instance": "db-main-replica:9187"}) {
		t.Fatalf("matchers did not compile as written: %+v", deps[0])
	}
}

func TestBadTopologyNamesFileAndField(t *testing.T) {
	for name, c := range map[string]struct{ yaml, want string }{
		"shape":      {"topology: {a: b}\n", "pack.yaml:3: topology: must be a list"},
		"field":      {"topology:\n  - {name: x, dependents: ['a=b'], depend_on: ['c=d']}\n", "topology[0]: unknown field depend_on"},
		"no name":    {"topology:\n  - {dependents: ['a=b'], depends_on: ['c=d']}\n", "topology[0].name"},
		"bad name":   {"topology:\n  - {name: '../x', dependents: ['a=b'], depends_on: ['c=d']}\n", "topology[0].name"},
		"twice":      {"topology:\n  - {name: x, dependents: ['a=b'], depends_on: ['c=d']}\n  - {name: x, dependents: ['a=b'], depends_on: ['c=d']}\n", "topology[1].name: \"x\" appears twice"},
		"no side":    {"topology:\n  - {name: x, dependents: ['a=b']}\n", "topology[0].depends_on: is required"},
		"regex":      {"topology:\n  - {name: x, dependents: ['a=~(('], depends_on: ['c=d']}\n", "topology[0].dependents"},
		"everything": {"topology:\n  - {name: x, dependents: ['env!=dev'], depends_on: ['c=d']}\n", "would match every alert"},
		"all roots":  {"topology:\n  - {name: x, dependents: ['a=b'], depends_on: ['c=~\".*\"']}\n", "topology[0].depends_on: matches an alert with no labels"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFS(consolidationPacks(c.yaml, nil), "packs")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a problem containing %q, got %v", c.want, err)
			}
		})
	}
}
