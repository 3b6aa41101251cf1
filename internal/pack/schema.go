package pack

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Constraints are the JSON Schema keywords (as st2 uses them) that say
// which values of a parameter, or of one item of an array parameter, an
// action accepts. They are judged when a run is planned, after the value is
// cast to its type and before anything runs.
type Constraints struct {
	// Pattern is a Go regular expression the whole value must match (it
	// is anchored: "[a-z]+" does not accept "a;b").
	Pattern string
	pattern *regexp.Regexp
	// Format names one of formats (absolute-path, systemd-unit, ...).
	Format                                   string
	Minimum, Maximum                         *float64
	MinLength, MaxLength, MinItems, MaxItems *int
	// NotUnder (Medic's keyword, with format absolute-path) lists
	// directories the canonical path may not be, nor be below.
	NotUnder []string
	// Items is the schema of each element of an array parameter.
	Items *Param
}

// keywordTypes are the types each constraint keyword applies to (an
// untyped parameter takes any keyword).
var keywordTypes = []struct {
	keywords []string
	types    []string
}{
	{[]string{"pattern", "format", "minLength", "maxLength", "not_under"}, []string{"string"}},
	{[]string{"minimum", "maximum"}, []string{"integer", "number"}},
	{[]string{"items", "minItems", "maxItems"}, []string{"array"}},
}

// itemFields are what an array's `items` schema may say: an item is not a
// parameter of its own, so required, default, immutable, secret and
// position do not apply.
var itemFields = []string{"type", "description", "enum", "pattern", "format", "minimum", "maximum",
	"minLength", "maxLength", "not_under", "title"}

// parseConstraint reads one constraint keyword of a parameter; false when k
// is not one.
func (c *Constraints) parseConstraint(file, field, k string, v *yaml.Node, ps *problems) bool {
	switch k {
	case "pattern":
		c.Pattern = scalarString(file, field, v, ps)
		re, err := regexp.Compile(`^(?:` + c.Pattern + `)$`)
		if err != nil {
			ps.add(file, v.Line, field, "not a valid regular expression: %v", err)
		} else {
			c.pattern = re
		}
	case "format":
		c.Format = scalarString(file, field, v, ps)
		if _, ok := formats[c.Format]; !ok {
			ps.add(file, v.Line, field, "unknown format %q (known: %s)", c.Format, formatNames())
		}
	case "minimum", "maximum":
		var f float64
		if v.Kind != yaml.ScalarNode || v.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			ps.add(file, v.Line, field, "must be a number, got %q", v.Value)
		} else if k == "minimum" {
			c.Minimum = &f
		} else {
			c.Maximum = &f
		}
	case "minLength", "maxLength", "minItems", "maxItems":
		var n int
		if v.Kind != yaml.ScalarNode || v.Decode(&n) != nil || n < 0 {
			ps.add(file, v.Line, field, "must be a non-negative integer, got %q", v.Value)
			return true
		}
		switch k {
		case "minLength":
			c.MinLength = &n
		case "maxLength":
			c.MaxLength = &n
		case "minItems":
			c.MinItems = &n
		default:
			c.MaxItems = &n
		}
	case "not_under":
		if v.Kind != yaml.SequenceNode || v.Decode(&c.NotUnder) != nil {
			ps.add(file, v.Line, field, "must be a list of absolute directories")
			return true
		}
		for i, d := range c.NotUnder {
			if !strings.HasPrefix(d, "/") || path.Clean(d) != d {
				ps.add(file, v.Line, fmt.Sprintf("%s[%d]", field, i), "%q is not a clean absolute directory (write %q)", d, path.Clean("/"+d))
			}
		}
	case "items":
		c.Items = parseItems(file, field, v, ps)
	default:
		return false
	}
	return true
}

// parseItems reads an array's `items` schema.
func parseItems(file, name string, n *yaml.Node, ps *problems) *Param {
	if n.Kind != yaml.MappingNode {
		ps.add(file, n.Line, name, "must be a mapping (the schema of each item)")
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f := field{n.Content[i], n.Content[i+1]}
		// Attributes no parameter has are parseParam's to report.
		if !slices.Contains(itemFields, f.key.Value) && slices.Contains(paramFields, f.key.Value) {
			ps.add(file, f.key.Line, name+"."+f.key.Value, "does not apply to array items (known: %s)", strings.Join(itemFields, ", "))
		}
	}
	p := parseParam(file, name, n, ps)
	if p != nil && p.Type == "array" {
		ps.add(file, n.Line, name+".type", "arrays of arrays are not supported: items must be strings, integers, numbers or booleans")
	}
	return p
}

// checkSchema reports keywords that cannot apply to p's type, bounds that
// contradict each other, and a default or enum value that breaks p's own
// constraints. lines maps a keyword to its line.
func checkSchema(file, name string, p *Param, lines map[string]int, ps *problems) {
	for _, kt := range keywordTypes {
		for _, k := range kt.keywords {
			if _, set := lines[k]; set && p.Type != "" && !slices.Contains(kt.types, p.Type) {
				ps.add(file, lines[k], name+"."+k, "applies to %s parameters, not %s", strings.Join(kt.types, " or "), p.Type)
			}
		}
	}
	bounds := []struct {
		lo, hi   string
		min, max *float64
	}{
		{"minimum", "maximum", p.Minimum, p.Maximum},
		{"minLength", "maxLength", intBound(p.MinLength), intBound(p.MaxLength)},
		{"minItems", "maxItems", intBound(p.MinItems), intBound(p.MaxItems)},
	}
	for _, b := range bounds {
		if b.min != nil && b.max != nil && *b.min > *b.max {
			ps.add(file, lines[b.lo], name+"."+b.lo, "%v is above %s %v: no value could pass", *b.min, b.hi, *b.max)
		}
	}
	if _, set := lines["not_under"]; set && p.Format != "absolute-path" {
		ps.add(file, lines["not_under"], name+".not_under", "needs format: absolute-path (paths are judged after cleaning)")
	}
	for i, e := range p.Enum {
		if _, errs := p.judge(e); len(errs) > 0 {
			ps.add(file, lines["enum"], fmt.Sprintf("%s.enum[%d]", name, i), "breaks the parameter's own constraints: %s", strings.Join(errs, "; "))
		}
	}
	if p.HasDefault && p.Default != nil {
		if _, errs := p.resolve(p.Default); len(errs) > 0 {
			ps.add(file, lines["default"], name+".default", "%s", strings.Join(errs, "; "))
		}
	}
}

func intBound(n *int) *float64 {
	if n == nil {
		return nil
	}
	f := float64(*n)
	return &f
}

// resolve casts v to p's type and judges it: the value to pass on (in
// canonical form) or every reason it is refused.
func (p *Param) resolve(v any) (any, []string) {
	cast, err := castParam(p.Type, v)
	if err != nil {
		return nil, []string{err.Error()}
	}
	return p.judge(cast)
}

// judge checks a value already cast to p's type against p's enum and
// constraints.
func (p *Param) judge(v any) (any, []string) {
	var errs []string
	switch x := v.(type) {
	case string:
		v, errs = p.judgeString(x)
	case int:
		errs = p.judgeNumber(float64(x), v)
	case float64:
		errs = p.judgeNumber(x, v)
	case []any:
		v, errs = p.judgeArray(x)
	}
	if len(errs) == 0 && len(p.Enum) > 0 && !inEnum(v, p.Enum) {
		errs = append(errs, fmt.Sprintf("%s is not one of %s", showValue(v), showValue(p.Enum)))
	}
	return v, errs
}

func (p *Param) judgeString(s string) (string, []string) {
	shown := showValue(s)
	if p.Format != "" {
		f, ok := formats[p.Format]
		if !ok {
			return s, []string{fmt.Sprintf("unknown format %q", p.Format)}
		}
		if !f.valid(s) {
			return s, []string{fmt.Sprintf("%s is not format %s (%s)", showValue(s), p.Format, f.want)}
		}
		if f.canonical != nil {
			raw := s
			if s = f.canonical(s); s != raw {
				shown = fmt.Sprintf("%s (cleaned: %s)", showValue(raw), showValue(s))
			}
		}
	}
	var errs []string
	if p.pattern != nil && !p.pattern.MatchString(s) {
		errs = append(errs, fmt.Sprintf("%s does not match pattern %s (the whole value must match)", shown, p.Pattern))
	}
	n := utf8.RuneCountInString(s)
	if p.MinLength != nil && n < *p.MinLength {
		errs = append(errs, fmt.Sprintf("%s is %d characters, fewer than minLength %d", shown, n, *p.MinLength))
	}
	if p.MaxLength != nil && n > *p.MaxLength {
		errs = append(errs, fmt.Sprintf("%s is %d characters, more than maxLength %d", shown, n, *p.MaxLength))
	}
	if dir, under := underAny(s, p.NotUnder); under && p.Format == "absolute-path" {
		errs = append(errs, fmt.Sprintf("%s is %s or below it, which not_under forbids (forbidden: %s)", shown, dir, strings.Join(p.NotUnder, " ")))
	}
	return s, errs
}

func (p *Param) judgeNumber(f float64, v any) []string {
	var errs []string
	if p.Minimum != nil && f < *p.Minimum {
		errs = append(errs, fmt.Sprintf("%s is less than minimum %v", showValue(v), *p.Minimum))
	}
	if p.Maximum != nil && f > *p.Maximum {
		errs = append(errs, fmt.Sprintf("%s is more than maximum %v", showValue(v), *p.Maximum))
	}
	return errs
}

func (p *Param) judgeArray(list []any) ([]any, []string) {
	var errs []string
	if p.MinItems != nil && len(list) < *p.MinItems {
		errs = append(errs, fmt.Sprintf("has %d items, fewer than minItems %d", len(list), *p.MinItems))
	}
	if p.MaxItems != nil && len(list) > *p.MaxItems {
		errs = append(errs, fmt.Sprintf("has %d items, more than maxItems %d", len(list), *p.MaxItems))
	}
	if p.Items == nil {
		return list, errs
	}
	out := make([]any, len(list))
	for i, e := range list {
		v, itemErrs := p.Items.resolve(e)
		for _, ie := range itemErrs {
			errs = append(errs, fmt.Sprintf("item %d: %s", i, ie))
		}
		out[i] = v
	}
	return out, errs
}

// HasConstraint says whether p limits its values beyond their type: an
// enum, a pattern, a format, bounds, or (arrays) constrained items.
func (p *Param) HasConstraint() bool {
	switch p.Type {
	case "integer", "number":
		return len(p.Enum) > 0 || p.Minimum != nil && p.Maximum != nil
	case "array":
		return p.Items != nil && p.Items.HasConstraint() && p.MaxItems != nil
	case "boolean", "null":
		return true
	}
	return len(p.Enum) > 0 || p.pattern != nil || p.Format != "" || p.MaxLength != nil
}
