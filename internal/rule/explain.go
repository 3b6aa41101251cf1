package rule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Explain answers "why did (or didn't) my rule fire", one criterion a line:
// the value found, the operator, the rendered pattern and the result.
func (e Evaluation) Explain() string {
	if e.full != nil {
		return e.full().Explain() // Evaluate stopped early: explain every criterion
	}
	var b strings.Builder
	verdict := "did not match"
	switch {
	case e.Fires():
		verdict = "MATCHED, fires " + e.Rule.Action.Ref
	case e.Matched:
		verdict = "matched but will NOT fire"
	}
	fmt.Fprintf(&b, "rule %s: %s", e.Rule.Ref, verdict)
	if !e.Rule.Enabled {
		b.WriteString(" (rule is disabled: it never fires)")
	}
	b.WriteByte('\n')
	if e.Err != nil {
		for _, line := range strings.Split(e.Err.Error(), "\n") {
			fmt.Fprintf(&b, "  error: %s\n", line)
		}
	}
	if len(e.Criteria) == 0 && e.Err == nil {
		b.WriteString("  (no criteria: every trigger of the type matches)\n")
	}
	explainResults(&b, e.Criteria, "  ")
	if e.Params != nil {
		keys := make([]string, 0, len(e.Params))
		for k := range e.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("  parameters:\n")
		for _, k := range keys {
			v := show(e.Params[k])
			if e.Rule.SecretParams[k] {
				v = SecretMask
			}
			fmt.Fprintf(&b, "    %s = %s\n", k, v)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func explainResults(b *strings.Builder, rs []CriterionResult, indent string) {
	for _, r := range rs {
		mark := "FAIL"
		if r.Matched {
			mark = "ok  "
		}
		if r.Group != "" {
			fmt.Fprintf(b, "%s%s %s: (%s of %d)\n", indent, mark, r.Key, r.Group, len(r.Members))
			for i, m := range r.Members {
				fmt.Fprintf(b, "%s  - [%d]\n", indent, i)
				explainResults(b, m, indent+"      ")
			}
			continue
		}
		found := "not found"
		if r.Found {
			found = "found " + show(r.Value)
		}
		line := fmt.Sprintf("%s%s %s %s", indent, mark, r.Key, r.Operator)
		if r.Operator != opExists && r.Operator != opNExists && r.Operator != opSearch {
			line += " " + show(r.Pattern)
		}
		line += ": " + found
		if r.Detail != "" {
			line += " (" + r.Detail + ")"
		}
		if r.Err != nil {
			line += " — error: " + r.Err.Error()
		}
		b.WriteString(line + "\n")
	}
}

// SecretMask stands for a secret value in explanations.
const SecretMask = "********"

// show renders a value as JSON, so strings are quoted and types visible.
func show(v any) string {
	out, err := ShowJSON(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const max = 200
	if len(out) > max {
		return string(out[:max]) + "…"
	}
	return string(out)
}

// ShowJSON is compact JSON without HTML escaping ("a > b" stays readable).
func ShowJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
