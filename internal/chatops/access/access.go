// Package access decides which Slack users, user groups and channels may
// run and approve which actions. Grants come from a YAML file
// (config/chatops.yaml); anything not granted is refused, and the refusal
// says why so the person in Slack knows whom to ask.
package access

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/slack/notify"
)

// Grant allows the people it names, in the channels it names, to act on the
// actions matching its globs (path.Match syntax on action refs: "linux.*").
// Users and groups say who (empty: anyone); channels say where (empty:
// anywhere). A grant must name at least one of them.
type Grant struct {
	Actions  []string `yaml:"actions"`
	Users    []string `yaml:"users"`
	Groups   []string `yaml:"groups"`
	Channels []string `yaml:"channels"`
}

// Config is the chatops.yaml document.
type Config struct {
	// Channel is where notifications and approval requests are posted.
	Channel string `yaml:"channel"`
	// Run grants /medic commands that start actions.
	Run []Grant `yaml:"run"`
	// Approve grants the Approve/Reject buttons of approval requests.
	Approve []Grant `yaml:"approve"`
	// Silence grants /medic silence add and expire; nil means the Run grants.
	Silence []Grant `yaml:"silence"`
}

// Who is the person asking, where.
type Who struct {
	User    string
	Groups  []string // user groups (subteam IDs) the user belongs to
	Channel string
}

// Load reads and validates a config file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Parse decodes and validates a config; errors name the file and field.
func Parse(file string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file is an empty config: everything refused.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var problems []string
	for section, grants := range map[string][]Grant{"run": c.Run, "approve": c.Approve, "silence": c.Silence} {
		for i, g := range grants {
			for _, p := range g.problems() {
				problems = append(problems, fmt.Sprintf("%s: %s[%d]: %s", file, section, i, p))
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return &c, nil
}

func (g Grant) problems() []string {
	var out []string
	if len(g.Actions) == 0 {
		out = append(out, "actions: needs at least one action glob")
	}
	for _, a := range g.Actions {
		if _, err := path.Match(a, ""); err != nil {
			out = append(out, fmt.Sprintf("actions: %q is not a valid glob", a))
		}
	}
	if len(g.Users)+len(g.Groups)+len(g.Channels) == 0 {
		out = append(out, "needs users, groups or channels (use users: [\"*\"] to allow anyone)")
	}
	return out
}

// CanRun reports whether w may run action; the error explains a refusal.
func (c *Config) CanRun(action string, w Who) error {
	return decide("run", c.Run, action, w)
}

// CanApprove reports whether w may approve or reject action.
func (c *Config) CanApprove(action string, w Who) error {
	return decide("approve", c.Approve, action, w)
}

// CanSilence reports whether w may add or expire silences.
func (c *Config) CanSilence(w Who) error {
	if c.Silence == nil {
		return decide("silence", c.Run, anyAction, w)
	}
	return decide("silence", c.Silence, anyAction, w)
}

func decide(verb string, grants []Grant, action string, w Who) error {
	covering := 0
	for _, g := range grants {
		if !g.coversAction(action) {
			continue
		}
		covering++
		if g.allowsWho(w) && g.allowsChannel(w.Channel) {
			return nil
		}
	}
	what := "action " + action
	if action == anyAction {
		what = "silences"
	}
	if covering == 0 {
		return fmt.Errorf("%s may not %s %s: no grant in chatops.yaml covers it", notify.MentionUser(w.User), verb, notify.Escape(what))
	}
	return fmt.Errorf("%s may not %s %s here: the %d grant(s) covering it name other users, groups or channels", notify.MentionUser(w.User), verb, notify.Escape(what), covering)
}

// anyAction asks about a permission not tied to one action (silences):
// every grant covers it.
const anyAction = ""

func (g Grant) coversAction(action string) bool {
	if action == anyAction {
		return true
	}
	for _, glob := range g.Actions {
		if ok, _ := path.Match(glob, action); ok {
			return true
		}
	}
	return false
}

func (g Grant) allowsWho(w Who) bool {
	if len(g.Users) == 0 && len(g.Groups) == 0 {
		return true
	}
	if slices.Contains(g.Users, "*") || slices.Contains(g.Users, w.User) {
		return true
	}
	for _, grp := range w.Groups {
		if slices.Contains(g.Groups, grp) {
			return true
		}
	}
	return false
}

func (g Grant) allowsChannel(ch string) bool {
	return len(g.Channels) == 0 || slices.Contains(g.Channels, "*") || slices.Contains(g.Channels, ch)
}

// NeedsGroups reports whether any grant names groups, so callers only look
// up memberships (a Slack API call) when it matters.
func (c *Config) NeedsGroups() bool {
	for _, gs := range [][]Grant{c.Run, c.Approve, c.Silence} {
		for _, g := range gs {
			if len(g.Groups) > 0 {
				return true
			}
		}
	}
	return false
}
