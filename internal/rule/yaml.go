package rule

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseCriteria reads a criteria mapping node as StackStorm writes it
// (key: {type, pattern[, condition]}), plus Medic's groups:
//
//	any:               # OR: some list entry matches (entries are ANDed inside)
//	  - trigger.a: {type: equals, pattern: x}
//	  - trigger.b: {type: exists}
//	all: [...]         # AND of the entries, for nesting inside any
//
// Problems carry the file, line and field path.
func ParseCriteria(n *yaml.Node, file, field string) (Criteria, []Problem) {
	if n == nil || n.Kind == 0 || isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, []Problem{{File: file, Line: n.Line, Field: field, Reason: "must be a mapping of key: {type, pattern}"}}
	}
	var cs Criteria
	var ps []Problem
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := field + "." + k.Value
		if seen[k.Value] {
			ps = append(ps, Problem{File: file, Line: k.Line, Field: f, Reason: "duplicate key; suffix it with #tag (e.g. " + k.Value + "#2) to test one key twice"})
			continue
		}
		seen[k.Value] = true
		c, cps := parseCriterion(k, v, file, f)
		ps = append(ps, cps...)
		if len(cps) == 0 {
			cs = append(cs, c)
		}
	}
	return cs, ps
}

func parseCriterion(k, v *yaml.Node, file, field string) (Criterion, []Problem) {
	c := Criterion{Key: k.Value, Line: k.Line}
	if g := GroupOf(k.Value); g != "" {
		c.Group = g
		if v.Kind != yaml.SequenceNode {
			return c, []Problem{{File: file, Line: v.Line, Field: field, Reason: "an " + g + " group is a list of criteria mappings"}}
		}
		var ps []Problem
		for i, m := range v.Content {
			sub, sps := ParseCriteria(m, file, fmt.Sprintf("%s[%d]", field, i))
			ps = append(ps, sps...)
			c.Members = append(c.Members, sub)
		}
		return c, ps
	}
	if v.Kind != yaml.MappingNode {
		return c, []Problem{{File: file, Line: v.Line, Field: field, Reason: "must be a mapping with type and pattern"}}
	}
	var patternNode *yaml.Node
	var ps []Problem
	for i := 0; i+1 < len(v.Content); i += 2 {
		fk, fv := v.Content[i], v.Content[i+1]
		switch fk.Value {
		case "type":
			c.Operator = fv.Value
		case "pattern":
			patternNode = fv
		case "condition":
			c.Condition = strings.ToLower(fv.Value)
		default:
			ps = append(ps, Problem{File: file, Line: fk.Line, Field: field + "." + fk.Value, Reason: "unknown field (want type, pattern, condition)"})
		}
	}
	if patternNode == nil {
		return c, ps
	}
	if o, ok := lookupOp(c.Operator); ok && o.name == opSearch {
		sub, sps := ParseCriteria(patternNode, file, field+".pattern")
		c.Search = sub
		return c, append(ps, sps...)
	}
	p, err := DecodeValue(patternNode)
	if err != nil {
		ps = append(ps, Problem{File: file, Line: patternNode.Line, Field: field + ".pattern", Reason: err.Error()})
	}
	c.Pattern = p
	return c, ps
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// DecodeValue decodes a YAML node into JSON-like values: map[string]any,
// []any, string, int, float64, bool, nil. Timestamps stay strings.
func DecodeValue(n *yaml.Node) (any, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" {
		return n.Value, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return jsonLike(v), nil
}

func jsonLike(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonLike(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonLike(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = jsonLike(e)
		}
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}
