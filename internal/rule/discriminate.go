package rule

import (
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
type discrimination struct {
	fields []*eqField
	// always are the positions of the rules evaluated for every trigger.
	always []int
}

type eqField struct {
	criterion *Criterion // one of the rules' criteria on this path: its segs resolve the value
	byValue   map[string][]int
}

// eqCandidate is a usable criterion of one rule.
type eqCandidate struct {
	path, value string
	c           *Criterion
}

func newDiscrimination(rules []*Rule) discrimination {
	cands := make([][]eqCandidate, len(rules))
	shared := map[[2]string]int{}
	for i, r := range rules {
		if len(r.Compile()) > 0 {
			continue
		}
		for j := range r.Criteria {
			c := &r.Criteria[j]
			s, ok := c.Pattern.(string)
			if c.Group != "" || c.op.name != opEquals || !ok || isTemplate(s) || len(c.segs) == 0 {
				continue
			}
			cand := eqCandidate{path: c.Path(), value: s, c: c}
			cands[i] = append(cands[i], cand)
			shared[[2]string{cand.path, s}]++
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
			if shared[[2]string{c.path, c.value}] < shared[[2]string{best.path, best.value}] {
				best = c
			}
		}
		f := fields[best.path]
		if f == nil {
			f = &eqField{criterion: best.c, byValue: map[string][]int{}}
			fields[best.path] = f
			d.fields = append(d.fields, f)
		}
		f.byValue[best.value] = append(f.byValue[best.value], i)
	}
	return d
}

// candidates returns, in ascending order, the positions of the rules that
// may match payload.
func (d discrimination) candidates(payload any) []int {
	out := append([]int(nil), d.always...)
	for _, f := range d.fields {
		v, _ := lookup(payload, f.criterion.segs)
		if s, ok := v.(string); ok {
			out = append(out, f.byValue[s]...)
		}
	}
	if len(d.fields) > 0 {
		sort.Ints(out)
	}
	return out
}
