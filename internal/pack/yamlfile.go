package pack

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/rule"
)

// doc is one parsed YAML file: its top-level mapping, with line numbers.
type doc struct {
	file   string
	fields map[string]field
	order  []string
}

type field struct {
	key, val *yaml.Node
}

// problems collects problems for one file.
type problems struct {
	list []rule.Problem
}

func (p *problems) add(file string, line int, fieldName, format string, args ...any) {
	p.list = append(p.list, rule.Problem{File: file, Line: line, Field: fieldName, Reason: fmt.Sprintf(format, args...)})
}

func (p *problems) addAll(ps []rule.Problem) { p.list = append(p.list, ps...) }

// parseDoc parses a YAML file whose top level must be a mapping, reporting
// syntax errors with their line, and fields not in known.
func parseDoc(path string, data []byte, known []string, ps *problems) (*doc, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlErrorLine(err)
		ps.add(path, line, "", "YAML syntax: %s", msg)
		return nil, false
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		ps.add(path, 0, "", "file is empty")
		return nil, false
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		ps.add(path, top.Line, "", "top level must be a mapping")
		return nil, false
	}
	d := &doc{file: path, fields: map[string]field{}}
	allowed := map[string]bool{}
	for _, k := range known {
		allowed[k] = true
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if _, dup := d.fields[k.Value]; dup {
			ps.add(path, k.Line, k.Value, "duplicate field")
			continue
		}
		if !allowed[k.Value] {
			ps.add(path, k.Line, k.Value, "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		d.fields[k.Value] = field{k, v}
		d.order = append(d.order, k.Value)
	}
	return d, true
}

// yamlErrorLine pulls "line N" out of yaml.v3's error text.
func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &line)
		if _, rest, ok := strings.Cut(msg[i:], ": "); ok && i == 0 {
			msg = rest // the line is already in the location
		}
	}
	return line, msg
}

func (d *doc) node(name string) *yaml.Node {
	if f, ok := d.fields[name]; ok {
		return f.val
	}
	return nil
}

func (d *doc) line(name string) int {
	if f, ok := d.fields[name]; ok {
		return f.key.Line
	}
	return 0
}

// str reads a string field; a non-scalar is a problem.
func (d *doc) str(name string, ps *problems) string {
	return scalarString(d.file, name, d.node(name), ps)
}

func scalarString(file, name string, n *yaml.Node, ps *problems) string {
	if n == nil || isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		ps.add(file, n.Line, name, "must be a string")
		return ""
	}
	return n.Value
}

// boolean reads a boolean field with a default.
func (d *doc) boolean(name string, def bool, ps *problems) bool {
	return scalarBool(d.file, name, d.node(name), def, ps)
}

func scalarBool(file, name string, n *yaml.Node, def bool, ps *problems) bool {
	if n == nil || isNull(n) {
		return def
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		ps.add(file, n.Line, name, "must be true or false, got %q", n.Value)
		return def
	}
	return b
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mappingEntries iterates a mapping node's pairs; anything else is a problem.
func mappingEntries(file, name string, n *yaml.Node, ps *problems) []field {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		ps.add(file, n.Line, name, "must be a mapping")
		return nil
	}
	out := make([]field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, field{n.Content[i], n.Content[i+1]})
	}
	return out
}
