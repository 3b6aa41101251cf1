// Package command parses the text of a /medic slash command. Built-in
// verbs (help, status, alerts, silence, approve, reject) are recognised
// here; any other text is an action alias command, matched later against
// the packs' alias formats.
package command

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/medic-sre/medic/internal/alert"
)

// Kind is what the command asks for.
type Kind string

const (
	Help          Kind = "help"
	Status        Kind = "status"
	Alerts        Kind = "alerts"
	SilenceAdd    Kind = "silence add"
	SilenceList   Kind = "silence list"
	SilenceExpire Kind = "silence expire"
	Approve       Kind = "approve"
	Reject        Kind = "reject"
	Run           Kind = "run" // an alias command: Text holds it
)

// DefaultSilence is how long a silence lasts when no duration is given.
const DefaultSilence = time.Hour

// MaxSilence bounds a silence, so a typo cannot hide alerts for a year.
const MaxSilence = 14 * 24 * time.Hour

// Command is one parsed /medic command.
type Command struct {
	Kind Kind
	// ID is the execution (status, approve, reject) or silence (expire).
	ID string
	// Matchers are the label matchers of silence add (=, !=, =~, !~).
	Matchers alert.Matchers
	Duration time.Duration
	// Comment is free text: the reason of a silence or a rejection.
	Comment string
	// Text is the alias command of Run, trimmed.
	Text string
}

// Usage is the built-in part of help.
const Usage = "`/medic help` · `/medic status <execution>` · `/medic alerts` · " +
	"`/medic silence add <label>=<value>… [for <duration>] <reason>` · `/medic silence list` · " +
	"`/medic silence expire <id>` · `/medic approve <execution>` · `/medic reject <execution> [reason]`"

// Parse reads the text after /medic. Errors say what was expected.
func Parse(text string) (Command, error) {
	text = strings.TrimSpace(text)
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return Command{Kind: Help}, nil
	}
	verb, args := strings.ToLower(fields[0]), fields[1:]
	switch verb {
	case "help":
		return Command{Kind: Help}, nil
	case "alerts":
		return Command{Kind: Alerts}, nil
	case "status":
		return withID(Status, args, "status <execution>")
	case "approve":
		c, err := withID(Approve, args[:min(1, len(args))], "approve <execution>")
		c.Comment = rest(text, 2)
		return c, err
	case "reject":
		c, err := withID(Reject, args[:min(1, len(args))], "reject <execution> [reason]")
		c.Comment = rest(text, 2)
		return c, err
	case "silence":
		return parseSilence(text, args)
	}
	return Command{Kind: Run, Text: text}, nil
}

func withID(k Kind, args []string, usage string) (Command, error) {
	if len(args) != 1 {
		return Command{Kind: k}, fmt.Errorf("usage: /medic %s", usage)
	}
	return Command{Kind: k, ID: args[0]}, nil
}

func parseSilence(text string, args []string) (Command, error) {
	if len(args) == 0 {
		return Command{Kind: SilenceList}, fmt.Errorf("usage: /medic silence add|list|expire")
	}
	switch strings.ToLower(args[0]) {
	case "list":
		return Command{Kind: SilenceList}, nil
	case "expire":
		return withID(SilenceExpire, args[1:], "silence expire <id>")
	case "add":
		return parseSilenceAdd(text, args[1:])
	}
	return Command{Kind: SilenceList}, fmt.Errorf("unknown silence verb %q: want add, list or expire", args[0])
}

// matcherWord is a word that is a label matcher: name, operator, value.
var matcherWord = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*(=~|!~|!=|=)`)

// parseSilenceAdd reads `matcher… [for 2h] reason…`. Matchers are
// Alertmanager's: label=value, label!=value, label=~regex, label!~regex.
// A reason is required, as the silence store requires one.
func parseSilenceAdd(text string, args []string) (Command, error) {
	c := Command{Kind: SilenceAdd, Duration: DefaultSilence}
	i := 0
	for ; i < len(args) && (matcherWord.MatchString(args[i]) || strings.HasPrefix(args[i], "=")); i++ {
		m, err := alert.ParseMatcher(args[i])
		if err != nil {
			return c, fmt.Errorf("silence matcher %q: %v", args[i], err)
		}
		c.Matchers = append(c.Matchers, m)
	}
	if len(c.Matchers) == 0 {
		return c, fmt.Errorf("usage: /medic silence add <label>=<value>… [for <duration>] <reason>: at least one label=value is needed")
	}
	if i < len(args) && strings.EqualFold(args[i], "for") {
		if i+1 >= len(args) {
			return c, fmt.Errorf("silence: `for` needs a duration such as 30m or 2h")
		}
		d, err := time.ParseDuration(args[i+1])
		if err != nil || d <= 0 {
			return c, fmt.Errorf("silence duration %q: want a positive duration such as 30m or 2h", args[i+1])
		}
		if d > MaxSilence {
			return c, fmt.Errorf("silence duration %s is longer than the maximum %s", d, MaxSilence)
		}
		c.Duration = d
		i += 2
	}
	c.Comment = rest(text, 2+i)
	if c.Comment == "" {
		return c, fmt.Errorf("silence: say why after the matchers (and duration), e.g. `/medic silence add host=web1 for 2h disk swap`")
	}
	return c, nil
}

// rest returns text after its first n words, keeping the user's spacing.
func rest(text string, n int) string {
	s := strings.TrimSpace(text)
	for range n {
		j := strings.IndexFunc(s, unicode.IsSpace)
		if j < 0 {
			return ""
		}
		s = strings.TrimLeftFunc(s[j:], unicode.IsSpace)
	}
	return s
}
