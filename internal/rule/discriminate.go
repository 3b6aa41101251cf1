package rule

import (
	"regexp/syntax"
	"sort"
)

// The discrimination index: most rules test one payload field for
// equality with a constant (trigger.metric_name equals "CPUUtilization",
// trigger.labels.alertname equals "InstanceDown"). Such a rule cannot
// match a trigger whose field holds another value, so the index keeps, per
// field, the rules by their constant, and a trigger is evaluated only
// against the rules listed under its own values plus the rules without
// such a criterion. Which rules match is unchanged; only rules that cannot
// match are skipped (and not reported by Evaluate).
//
// A criterion is used when it is a top-level (ANDed) `equals` whose
// pattern is a plain string (no template, so it does not depend on the
// trigger) and the rule compiled without problems (a rule with problems is
// always evaluated, to report them). `equals` compares a string pattern
// only with a string value, exactly (operators.go: equal), so a field that
// is missing or not a string selects none of the rules under it. Of a
// rule's usable criteria, the one whose constant the fewest rules share is
// used, so "trigger.state equals ALARM", common to most rules, does not
// hide a selective "trigger.metric_name equals ...".
//
// A rule without such an equality may be indexed by a prefix instead: a
// literal `startswith`, or a literal `regex`/`matchregex` anchored at the
// start (^ or \A) whose every match begins with a literal prefix
// (regexp's LiteralPrefix; iregex is not used). Such a rule can only match
// a string value beginning with that prefix.
type discrimination struct {
	fields []*eqField
	// always are the positions of the rules evaluated for every trigger.
	always []int
}

type eqField struct {
	criterion *Criterion // one of the rules' criteria on this path: its segs resolve the value
	byValue   map[string][]int
	// byPrefix holds the rules by a prefix their value must start with;
	// prefixLens are the distinct lengths of those prefixes.
	byPrefix   map[string][]int
	prefixLens []int
}

// eqCandidate is a usable criterion of one rule: an exact value, or a
// prefix when isPrefix.
type eqCandidate struct {
	path, value string
	isPrefix    bool
	c           *Criterion
}

func (c eqCandidate) id() [3]string {
	kind := "="
	if c.isPrefix {
		kind = "^"
	}
	return [3]string{kind, c.path, c.value}
}

// usable returns what criterion c lets the index file a rule under.
func usable(c *Criterion) (eqCandidate, bool) {
	s, ok := c.Pattern.(string)
	if c.Group != "" || !ok || isTemplate(s) || len(c.segs) == 0 {
		return eqCandidate{}, false
	}
	cand := eqCandidate{path: c.Path(), value: s, c: c}
	switch c.op.name {
	case opEquals:
		return cand, true
	case opStartsWith:
		cand.isPrefix = true
		return cand, s != ""
	case opRegex, opMatchRegex:
		cand.isPrefix = true
		cand.value = anchoredPrefix(map[string]string{opRegex: "", opMatchRegex: "(?s)^"}[c.op.name], s)
		return cand, cand.value != ""
	}
	return eqCandidate{}, false
}

// anchoredPrefix is the literal every match of the regex must start the
// value with, or "" when it has none or is not anchored at the start.
func anchoredPrefix(opPrefix, pattern string) string {
	re, err := compileRegex(opPrefix, pattern)
	if err != nil {
		return ""
	}
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	parsed = parsed.Simplify()
	if parsed.Op != syntax.OpConcat || len(parsed.Sub) == 0 || parsed.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	prefix, _ := re.LiteralPrefix()
	return prefix
}

func newDiscrimination(rules []*Rule) discrimination {
	cands := make([][]eqCandidate, len(rules))
	shared := map[[3]string]int{}
	for i, r := range rules {
		if len(r.Compile()) > 0 {
			continue
		}
		for j := range r.Criteria {
			if cand, ok := usable(&r.Criteria[j]); ok {
				cands[i] = append(cands[i], cand)
				shared[cand.id()]++
			}
		}
	}
	var d discrimination
	fields := map[string]*eqField{}
	for i, cs := range cands {
		if len(cs) == 0 {
			d.always = append(d.always, i)
			continue
		}
		best := cs[0]
		for _, c := range cs[1:] {
			// The fewest rules sharing it; at a tie an exact value, which
			// also rules out longer values.
			if n, m := shared[c.id()], shared[best.id()]; n < m || n == m && best.isPrefix && !c.isPrefix {
				best = c
			}
		}
		f := fields[best.path]
		if f == nil {
			f = &eqField{criterion: best.c, byValue: map[string][]int{}, byPrefix: map[string][]int{}}
			fields[best.path] = f
			d.fields = append(d.fields, f)
		}
		if best.isPrefix {
			if _, seen := f.byPrefix[best.value]; !seen && !containsInt(f.prefixLens, len(best.value)) {
				f.prefixLens = append(f.prefixLens, len(best.value))
			}
			f.byPrefix[best.value] = append(f.byPrefix[best.value], i)
		} else {
			f.byValue[best.value] = append(f.byValue[best.value], i)
		}
	}
	return d
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// candidates returns, in ascending order, the positions of the rules that
// may match payload.
func (d discrimination) candidates(payload any) []int {
	out := append([]int(nil), d.always...)
	for _, f := range d.fields {
		v, _ := lookup(payload, f.criterion.segs)
		s, ok := v.(string)
		if !ok {
			continue
		}
		out = append(out, f.byValue[s]...)
		for _, n := range f.prefixLens {
			if len(s) >= n {
				out = append(out, f.byPrefix[s[:n]]...)
			}
		}
	}
	if len(d.fields) > 0 {
		sort.Ints(out)
	}
	return out
}
