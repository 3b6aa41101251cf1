package pack

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Alias is a st2 action alias: ChatOps command formats mapped to an action.
type Alias struct {
	Ref, Pack, Name, Description, ActionRef, File string
	Enabled                                       bool
	Formats                                       []Format
	Ack                                           Message
	Result                                        Message
	ImmutableParameters                           map[string]any
	Lines                                         map[string]int

	patterns []*aliasPattern
}

// Format is one accepted command shape. Display is shown in help; each
// representation is matched ("restart {{service}} on {{host=localhost}}").
type Format struct {
	Display         string
	Representations []string
}

// Message configures the ack or result message.
type Message struct {
	Enabled   bool
	Format    string
	AppendURL bool
	Extra     map[string]any
}

var aliasFields = []string{"name", "pack", "ref", "description", "enabled", "action_ref", "formats", "ack",
	"result", "extra", "immutable_parameters", "uid", "id", "metadata_file"}

func parseAlias(path string, data []byte, packName string, ps *problems) *Alias {
	d, ok := parseDoc(path, data, aliasFields, ps)
	if !ok {
		return nil
	}
	a := &Alias{
		File:        path,
		Name:        d.str("name", ps),
		Pack:        d.str("pack", ps),
		Description: d.str("description", ps),
		ActionRef:   d.str("action_ref", ps),
		Enabled:     d.boolean("enabled", true, ps),
		Ack:         Message{Enabled: true},
		Result:      Message{Enabled: true},
		Lines:       map[string]int{},
	}
	for _, name := range d.order {
		a.Lines[name] = d.line(name)
	}
	checkOwner(d, packName, &a.Pack, ps)
	a.Ref = a.Pack + "." + a.Name
	if a.Name == "" {
		ps.add(path, 1, "name", "is required")
	}
	if a.ActionRef == "" {
		ps.add(path, 1, "action_ref", "is required")
	}
	a.Formats = parseFormats(path, d.node("formats"), ps)
	if len(a.Formats) == 0 {
		ps.add(path, d.line("formats"), "formats", "needs at least one format")
	}
	parseMessage(path, "ack", d.node("ack"), &a.Ack, ps)
	parseMessage(path, "result", d.node("result"), &a.Result, ps)
	a.ImmutableParameters = decodeMap(path, "immutable_parameters", d.node("immutable_parameters"), ps)
	for _, f := range a.Formats {
		for _, rep := range f.Representations {
			p, err := compileFormat(rep)
			if err != nil {
				ps.add(path, d.line("formats"), "formats", "%q: %v", rep, err)
				continue
			}
			a.patterns = append(a.patterns, p)
		}
	}
	return a
}

func parseFormats(file string, n *yaml.Node, ps *problems) []Format {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.add(file, n.Line, "formats", "must be a list")
		return nil
	}
	var out []Format
	for i, item := range n.Content {
		field := fmt.Sprintf("formats[%d]", i)
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, Format{Display: item.Value, Representations: []string{item.Value}})
		case yaml.MappingNode:
			var f Format
			for _, e := range mappingEntries(file, field, item, ps) {
				switch e.key.Value {
				case "display":
					f.Display = scalarString(file, field+".display", e.val, ps)
				case "representation":
					if e.val.Decode(&f.Representations) != nil {
						ps.add(file, e.val.Line, field+".representation", "must be a list of strings")
					}
				default:
					ps.add(file, e.key.Line, field+"."+e.key.Value, "unknown field (want display, representation)")
				}
			}
			if len(f.Representations) == 0 {
				ps.add(file, item.Line, field+".representation", "is required")
			}
			out = append(out, f)
		default:
			ps.add(file, item.Line, field, "must be a string or {display, representation}")
		}
	}
	return out
}

func parseMessage(file, name string, n *yaml.Node, m *Message, ps *problems) {
	for _, e := range mappingEntries(file, name, n, ps) {
		field := name + "." + e.key.Value
		switch e.key.Value {
		case "enabled":
			m.Enabled = scalarBool(file, field, e.val, true, ps)
		case "format":
			m.Format = scalarString(file, field, e.val, ps)
		case "append_url":
			m.AppendURL = scalarBool(file, field, e.val, false, ps)
		case "extra":
			m.Extra = decodeMap(file, field, e.val, ps)
		default:
			ps.add(file, e.key.Line, field, "unknown field (want enabled, format, append_url, extra)")
		}
	}
}

// aliasPattern is one compiled representation.
type aliasPattern struct {
	source   string
	re       *regexp.Regexp
	params   []string
	defaults map[string]string
}

// placeholder is {{ name }} or {{ name = default }}.
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=\s*(.*?))?\s*\}\}`)

// compileFormat turns a representation into an anchored regex. Literal text
// matches with flexible whitespace; parameters match lazily (the anchors
// make the last one take the rest, up to trailing key=value pairs); a
// parameter with a default may be left out with the space before it.
func compileFormat(rep string) (*aliasPattern, error) {
	p := &aliasPattern{source: rep, defaults: map[string]string{}}
	var b strings.Builder
	b.WriteString(`(?s)^\s*`)
	locs := placeholder.FindAllStringSubmatchIndex(rep, -1)
	last := 0
	for _, loc := range locs {
		literal := rep[last:loc[0]]
		name := rep[loc[2]:loc[3]]
		optional := loc[4] >= 0
		if optional {
			p.defaults[name] = strings.Trim(rep[loc[4]:loc[5]], `"'`)
		}
		p.params = append(p.params, name)
		group := `(?P<` + name + `>.+?)`
		if optional && strings.HasSuffix(literal, " ") {
			b.WriteString(literalRegex(strings.TrimRight(literal, " ")))
			b.WriteString(`(?:\s+` + group + `)?`)
		} else {
			b.WriteString(literalRegex(literal))
			if optional {
				group += "?"
			}
			b.WriteString(group)
		}
		last = loc[1]
	}
	b.WriteString(literalRegex(rep[last:]))
	b.WriteString(`(?P<__extra>(?:\s+[A-Za-z_][A-Za-z0-9_]*=\S+)*)\s*$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, err
	}
	p.re = re
	return p, nil
}

func literalRegex(s string) string {
	parts := strings.Fields(s)
	for i, part := range parts {
		parts[i] = regexp.QuoteMeta(part)
	}
	out := strings.Join(parts, `\s+`)
	if strings.HasPrefix(s, " ") && out != "" {
		out = `\s+` + out
	}
	if strings.HasSuffix(s, " ") {
		out += `\s+`
	} else if s != "" && strings.TrimSpace(s) == "" {
		out = `\s+`
	}
	return out
}

// Match parses a chat command against the alias's formats. It returns the
// action parameters (defaults filled in, trailing key=value pairs added,
// immutable parameters applied) of the first format that matches.
func (a *Alias) Match(command string) (map[string]any, bool) {
	for _, p := range a.patterns {
		m := p.re.FindStringSubmatch(command)
		if m == nil {
			continue
		}
		params := map[string]any{}
		for name, def := range p.defaults {
			params[name] = def
		}
		for i, name := range p.re.SubexpNames() {
			switch {
			case name == "__extra":
				for _, kv := range strings.Fields(m[i]) {
					k, v, _ := strings.Cut(kv, "=")
					params[k] = v
				}
			case name != "" && m[i] != "":
				params[name] = strings.TrimSpace(m[i])
			}
		}
		for k, v := range a.ImmutableParameters {
			params[k] = v
		}
		return params, true
	}
	return nil, false
}

// Params lists the parameter names the formats mention.
func (a *Alias) Params() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range a.patterns {
		for _, n := range p.params {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

func (s *Set) validateAlias(al *Alias, ps *problems) {
	if al.ActionRef == "" {
		return
	}
	act, ok := s.Action(al.ActionRef)
	if !ok {
		ps.add(al.File, al.Lines["action_ref"], "action_ref", "unknown action %q", al.ActionRef)
		return
	}
	for _, name := range al.Params() {
		if _, ok := act.Parameters[name]; !ok {
			ps.add(al.File, al.Lines["formats"], "formats", "parameter {{%s}} is not a parameter of %s", name, act.Ref)
		} else if act.Parameters[name].Immutable {
			ps.add(al.File, al.Lines["formats"], "formats", "parameter {{%s}} is immutable in %s", name, act.Ref)
		}
	}
	for _, name := range sortedKeys(al.ImmutableParameters) {
		if _, ok := act.Parameters[name]; !ok {
			ps.add(al.File, al.Lines["immutable_parameters"], "immutable_parameters."+name, "not a parameter of %s", act.Ref)
		}
	}
	// A command matching a representation must be able to run: every
	// required parameter without a default comes from the command or the
	// alias itself.
	for _, p := range al.patterns {
		for _, name := range sortedKeys(act.Parameters) {
			param := act.Parameters[name]
			_, fixed := al.ImmutableParameters[name]
			if param.Required && !param.HasDefault && !fixed && !slices.Contains(p.params, name) {
				ps.add(al.File, al.Lines["formats"], "formats", "%q never sets %s's required parameter %s", p.source, act.Ref, name)
			}
		}
	}
}
