// Package pack loads StackStorm-format packs: packs/<name>/ with pack.yaml,
// rules/, actions/, aliases/ and policies/. Loading checks every file and
// every cross-reference (trigger types, action refs, parameters) and reports
// all problems at once, each as "file:line: field: reason".
package pack

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/rule"
)

// Pack is one pack folder.
type Pack struct {
	Ref, Name, Description, Version, Author, Email string
	Keywords                                       []string
	Dir                                            string
	Rules                                          []*rule.Rule
	Actions                                        []*Action
	Aliases                                        []*Alias
	Policies                                       []*Policy
	// Consolidate is pack.yaml's `consolidate:` block: the default of
	// every rule in the pack, which a rule's own block overrides key by key.
	Consolidate *yaml.Node
	// Inhibitions are pack.yaml's `inhibit_rules:` (Alertmanager's form):
	// while a source alert fires, matching target alerts are not acted on.
	Inhibitions []inhibit.Rule
	// Topology is pack.yaml's `topology:`: alerts of dependents are
	// symptoms while an alert of what they depend on fires.
	Topology []dispatch.Dependency
}

// Set is every pack under one directory.
type Set struct {
	Packs         []*Pack
	actions       map[string]*Action
	rules         map[string]*rule.Rule
	consolidation map[string]dispatch.Config
}

var packFields = []string{"ref", "name", "description", "version", "author", "email", "keywords",
	"python_versions", "dependencies", "system", "contributors", "stackstorm_version", "website", "consolidate", "inhibit_rules", "topology"}

// LoadDir loads every packs/<name>/ folder under dir. The error, when not
// nil, is a rule.Problems listing every problem found; the returned Set then
// holds what could be loaded.
func LoadDir(dir string) (*Set, error) {
	if _, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	return load(source{fsys: os.DirFS(dir), root: dir, onDisk: true})
}

// LoadFS loads packs from a file system, e.g. packs embedded in a Lambda
// binary with go:embed. name prefixes file names in problems (and in the
// File fields), as the directory did for LoadDir.
func LoadFS(fsys fs.FS, name string) (*Set, error) {
	return load(source{fsys: fsys, root: name})
}

func load(src source) (*Set, error) {
	entries, err := fs.ReadDir(src.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("packs: %s: %w", src.root, err)
	}
	s := &Set{actions: map[string]*Action{}, rules: map[string]*rule.Rule{}, consolidation: map[string]dispatch.Config{}}
	var ps problems
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if p := loadPack(src, e.Name(), &ps); p != nil {
			s.Packs = append(s.Packs, p)
		}
	}
	s.index(&ps)
	s.validate(&ps)
	if len(ps.list) > 0 {
		sort.SliceStable(ps.list, func(i, j int) bool {
			a, b := ps.list[i], ps.list[j]
			if a.File != b.File {
				return a.File < b.File
			}
			return a.Line < b.Line
		})
		return s, rule.Problems(ps.list)
	}
	return s, nil
}

// source is where packs are read from; file names shown to people are
// root joined with the path inside fsys.
type source struct {
	fsys fs.FS
	root string
	// onDisk: root is a directory of this machine (LoadDir), so symlinks
	// can be resolved; an embedded file system has none.
	onDisk bool
}

func (s source) show(rel string) string { return filepath.Join(s.root, filepath.FromSlash(rel)) }

// yamlFiles lists *.yaml and *.yml in dir, sorted; a missing dir is empty.
func (s source) yamlFiles(dir string) []string {
	entries, err := fs.ReadDir(s.fsys, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out
}

// each reads every YAML file of one kind (rules, actions, ...) of a pack.
func (s source) each(dir string, ps *problems, parse func(file string, data []byte)) {
	for _, rel := range s.yamlFiles(dir) {
		data, err := fs.ReadFile(s.fsys, rel)
		if err != nil {
			ps.add(s.show(rel), 0, "", "%v", err)
			continue
		}
		parse(s.show(rel), data)
	}
}

func loadPack(src source, dir string, ps *problems) *Pack {
	meta := src.show(path.Join(dir, "pack.yaml"))
	data, err := fs.ReadFile(src.fsys, path.Join(dir, "pack.yaml"))
	if err != nil {
		ps.add(meta, 0, "", "missing: every pack folder needs a pack.yaml")
		return nil
	}
	d, ok := parseDoc(meta, data, packFields, ps)
	if !ok {
		return nil
	}
	p := &Pack{
		Dir:         src.show(dir),
		Ref:         d.str("ref", ps),
		Name:        d.str("name", ps),
		Description: d.str("description", ps),
		Version:     d.str("version", ps),
		Author:      d.str("author", ps),
		Email:       d.str("email", ps),
	}
	if n := d.node("keywords"); n != nil {
		if err := n.Decode(&p.Keywords); err != nil {
			ps.add(meta, n.Line, "keywords", "must be a list of strings")
		}
	}
	p.Consolidate = d.node("consolidate")
	p.Inhibitions = parseInhibitRules(meta, d.node("inhibit_rules"), ps)
	if p.Ref == "" {
		p.Ref = p.Name
	}
	p.Topology = parseTopology(meta, p.Ref, d.node("topology"), ps)
	if p.Ref == "" {
		ps.add(meta, 1, "ref", "is required (or name)")
		p.Ref = dir
	}
	if p.Ref != dir {
		ps.add(meta, d.line("ref"), "ref", "%q does not match the folder name %q", p.Ref, dir)
	}
	src.each(path.Join(dir, "actions"), ps, func(file string, data []byte) {
		if a := parseAction(file, data, p.Ref, ps); a != nil {
			checkEntryPoint(src, dir, a, ps)
			p.Actions = append(p.Actions, a)
		}
	})
	src.each(path.Join(dir, "rules"), ps, func(file string, data []byte) {
		if r := ParseRule(file, data, p.Ref, ps); r != nil {
			ps.addAll(r.Compile())
			p.Rules = append(p.Rules, r)
		}
	})
	src.each(path.Join(dir, "aliases"), ps, func(file string, data []byte) {
		if a := parseAlias(file, data, p.Ref, ps); a != nil {
			p.Aliases = append(p.Aliases, a)
		}
	})
	src.each(path.Join(dir, "policies"), ps, func(file string, data []byte) {
		if pol := parsePolicy(file, data, p.Ref, ps); pol != nil {
			p.Policies = append(p.Policies, pol)
		}
	})
	return p
}

func (s *Set) index(ps *problems) {
	rules := map[string]string{}
	for _, p := range s.Packs {
		for _, a := range p.Actions {
			if prev, dup := s.actions[a.Ref]; dup {
				ps.add(a.File, 1, "name", "action %s is also defined in %s", a.Ref, prev.File)
				continue
			}
			s.actions[a.Ref] = a
		}
		for _, r := range p.Rules {
			if prev, dup := rules[r.Ref]; dup {
				ps.add(r.File, r.Line("name"), "name", "rule %s is also defined in %s", r.Ref, prev)
				continue
			}
			rules[r.Ref] = r.File
			s.rules[r.Ref] = r
			s.decodeConsolidation(p, r, ps)
		}
	}
}

// Rules returns every rule of every pack.
func (s *Set) Rules() []*rule.Rule {
	var out []*rule.Rule
	for _, p := range s.Packs {
		out = append(out, p.Rules...)
	}
	return out
}

// Rule finds a rule by "pack.name".
func (s *Set) Rule(ref string) (*rule.Rule, bool) {
	r, ok := s.rules[ref]
	return r, ok
}

// Action finds an action by "pack.name".
func (s *Set) Action(ref string) (*Action, bool) {
	a, ok := s.actions[ref]
	return a, ok
}

// Actions returns every action, sorted by ref.
func (s *Set) Actions() []*Action {
	out := make([]*Action, 0, len(s.actions))
	for _, ref := range sortedKeys(s.actions) {
		out = append(out, s.actions[ref])
	}
	return out
}

// Aliases returns every action alias.
func (s *Set) Aliases() []*Alias {
	var out []*Alias
	for _, p := range s.Packs {
		out = append(out, p.Aliases...)
	}
	return out
}

// Policies returns every policy.
func (s *Set) Policies() []*Policy {
	var out []*Policy
	for _, p := range s.Packs {
		out = append(out, p.Policies...)
	}
	return out
}
