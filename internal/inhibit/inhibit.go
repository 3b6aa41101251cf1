// Package inhibit mutes alerts that another firing alert explains, with
// Alertmanager's inhibit_rules semantics: while an alert matching the
// source matchers fires, alerts matching the target matchers that carry the
// same values for the `equal` labels are inhibited. "Instance down"
// inhibits every service alert on that instance.
package inhibit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/medic-sre/medic/internal/alert"
)

// Spec is the configuration form (YAML or JSON): matchers as strings.
type Spec struct {
	Name           string   `json:"name,omitempty" yaml:"name,omitempty"`
	SourceMatchers []string `json:"source_matchers" yaml:"source_matchers"`
	TargetMatchers []string `json:"target_matchers" yaml:"target_matchers"`
	Equal          []string `json:"equal,omitempty" yaml:"equal,omitempty"`
}

// Rule is a compiled Spec.
type Rule struct {
	Name   string
	Source alert.Matchers
	Target alert.Matchers
	Equal  []string
}

// Compile parses the matchers; errors name the rule and field.
func Compile(specs []Spec) ([]Rule, error) {
	rules := make([]Rule, 0, len(specs))
	for i, s := range specs {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("inhibit_rules[%d]", i)
		}
		r := Rule{Name: name, Equal: s.Equal}
		var err error
		if r.Source, err = alert.ParseMatchers(s.SourceMatchers); err != nil {
			return nil, fmt.Errorf("%s.source_matchers: %w", name, err)
		}
		if r.Target, err = alert.ParseMatchers(s.TargetMatchers); err != nil {
			return nil, fmt.Errorf("%s.target_matchers: %w", name, err)
		}
		if len(r.Source) == 0 || len(r.Target) == 0 {
			return nil, fmt.Errorf("%s: source_matchers and target_matchers are both required", name)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// Inhibitor is a rule that applies to an alert, and the alert doing it.
type Inhibitor struct {
	Rule        string
	Fingerprint string
	Name        string
}

// Check returns what inhibits target among the firing alerts, or nil. It
// is the semantics stated over a plain list; the Consolidator applies the
// same rules through an index of firing sources (ID, EqualKey, SourceRole,
// Eligible; internal/dispatch/inhibition.go) so that muting does not list
// every known alert.
func Check(rules []Rule, target alert.Alert, firing []alert.Alert) *Inhibitor {
	for _, r := range rules {
		if !r.Target.Matches(target.Labels) {
			continue
		}
		// An alert matching both sides cannot be inhibited by alerts that
		// do too (itself included), as in Alertmanager.
		bothSides := r.Source.Matches(target.Labels)
		for _, src := range firing {
			if src.Status != alert.Firing || src.Fingerprint == target.Fingerprint || !r.Source.Matches(src.Labels) {
				continue
			}
			if bothSides && r.Target.Matches(src.Labels) {
				continue
			}
			if equal(r.Equal, src.Labels, target.Labels) {
				return &Inhibitor{Rule: r.Name, Fingerprint: src.Fingerprint, Name: src.Name()}
			}
		}
	}
	return nil
}

// equal: the labels have the same value on both (absent counts as "").
func equal(names []string, a, b map[string]string) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}

// ID names the rule's definition (name, source matchers and equal labels):
// an index of firing sources built for one definition is never read by
// another, so editing a rule cannot make it read sources that no longer
// match it.
func (r Rule) ID() string {
	h := sha256.New()
	writeField(h, r.Name)
	for _, m := range r.Source {
		writeField(h, m.String())
	}
	writeField(h, "")
	for _, n := range r.Equal {
		writeField(h, n)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// EqualKey is a fixed-length digest of the values labels has for the
// rule's `equal` labels (absent counts as ""): a source and a target are
// paired by the rule exactly when their EqualKeys are the same. The values
// are attacker-written, so they are hashed (length-prefixed, so "a","bc"
// and "ab","c" differ) rather than put in a key.
func (r Rule) EqualKey(labels map[string]string) string {
	h := sha256.New()
	for _, n := range r.Equal {
		writeField(h, labels[n])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// SourceRole is how a firing source is indexed under a rule: Source when
// it matches only the source side, Both when it also matches the target
// side (such a source cannot inhibit a target that matches both sides).
func (r Rule) SourceRole(labels map[string]string) (role Role, ok bool) {
	if !r.Source.Matches(labels) {
		return "", false
	}
	if r.Target.Matches(labels) {
		return Both, true
	}
	return SourceOnly, true
}

// Role is how a source alert matches a rule.
type Role string

const (
	SourceOnly Role = "s"
	Both       Role = "b"
)

// Eligible lists the roles of sources that may inhibit target under r
// (target must match r.Target): every source, or, when target matches
// both sides, only the sources that match just the source side, as in
// Alertmanager.
func (r Rule) Eligible(target map[string]string) []Role {
	if r.Source.Matches(target) {
		return []Role{SourceOnly}
	}
	return []Role{SourceOnly, Both}
}

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
