// Package secret keeps the set of secret values Medic knows about (its own
// Slack credentials, secret-marked action parameters) and scrubs them out of
// text before that text is stored or sent on: command output can print a
// secret however the command came by it, and an execution record or a Slack
// thread must never hold one.
package secret

import (
	"os"
	"sort"
	"strings"
	"sync"
)

// Mask is what a scrubbed value is replaced with.
const Mask = "[redacted]"

// MinLength is the shortest value scrubbed. Shorter "secrets" (a test value
// such as "1", an empty string) would shred ordinary output while hiding
// nothing worth hiding.
const MinLength = 6

// EnvNames are the environment variables Medic reads secrets from; their
// values are known secrets whenever they are set.
var EnvNames = []string{"MEDIC_SLACK_SIGNING_SECRET", "MEDIC_SLACK_BOT_TOKEN"}

// Set is a set of known secret values. The zero value is empty and ready;
// Getenv, when set, makes the values of EnvNames members too, read at each
// Scrub so a secret set after start-up is still known.
type Set struct {
	Getenv func(string) string

	mu     sync.RWMutex
	values map[string]struct{}
}

// Add makes values known. Values shorter than MinLength are ignored.
func (s *Set) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) < MinLength {
			continue
		}
		if s.values == nil {
			s.values = map[string]struct{}{}
		}
		s.values[v] = struct{}{}
	}
}

// Scrub returns text with every known secret value replaced by Mask.
func (s *Set) Scrub(text string) string { return s.ScrubEncoded(text) }

// ScrubEncoded is Scrub that also masks each known value as the given
// encodings render it (Slack's &amp; escaping, say): text that was escaped
// before it reached the scrubber must not keep the secret in another
// spelling.
func (s *Set) ScrubEncoded(text string, encodings ...func(string) string) string {
	if text == "" {
		return text
	}
	known := s.list()
	if len(known) == 0 {
		return text
	}
	for _, encode := range encodings {
		for _, v := range known {
			if e := encode(v); e != v {
				known = append(known, e)
			}
		}
	}
	sortLongestFirst(known)
	pairs := make([]string, 0, 2*len(known))
	for _, v := range known {
		pairs = append(pairs, v, Mask)
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// list returns the known values, longest first: at one position a secret
// that contains another is replaced whole (strings.Replacer tries its pairs
// in order).
func (s *Set) list() []string {
	s.mu.RLock()
	out := make([]string, 0, len(s.values)+len(EnvNames))
	for v := range s.values {
		out = append(out, v)
	}
	s.mu.RUnlock()
	if s.Getenv != nil {
		for _, name := range EnvNames {
			if v := s.Getenv(name); len(v) >= MinLength {
				out = append(out, v)
			}
		}
	}
	sortLongestFirst(out)
	return out
}

func sortLongestFirst(out []string) {
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
}

// Known is the process's set: Medic's own secrets from its environment
// plus whatever Add registered (secret action parameters at planning).
var Known = &Set{Getenv: os.Getenv}

// Add makes values known to the process's set.
func Add(values ...string) { Known.Add(values...) }

// Scrub removes the process's known secrets from text.
func Scrub(text string) string { return Known.Scrub(text) }

// ScrubEncoded removes the process's known secrets, also as encodings
// render them.
func ScrubEncoded(text string, encodings ...func(string) string) string {
	return Known.ScrubEncoded(text, encodings...)
}
