package command

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		text string
		want Command
	}{
		{"", Command{Kind: Help}},
		{"  HELP ", Command{Kind: Help}},
		{"alerts", Command{Kind: Alerts}},
		{"status abc-123", Command{Kind: Status, ID: "abc-123"}},
		{"approve abc", Command{Kind: Approve, ID: "abc"}},
		{"reject abc  not during   the release", Command{Kind: Reject, ID: "abc", Comment: "not during   the release"}},
		{"silence list", Command{Kind: SilenceList}},
		{"silence expire s-1", Command{Kind: SilenceExpire, ID: "s-1"}},
		{"restart nginx on web1", Command{Kind: Run, Text: "restart nginx on web1"}},
		{"  free disk on i-123 path=/var/tmp ", Command{Kind: Run, Text: "free disk on i-123 path=/var/tmp"}},
	}
	for _, tc := range cases {
		got, err := Parse(tc.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.text, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestParseSilenceAdd(t *testing.T) {
	cases := []struct {
		text, matchers, comment string
		d                       time.Duration
	}{
		{"silence add alarm_name=HighDisk host=web1 for 2h disk swap planned", `alarm_name="HighDisk", host="web1"`, "disk swap planned", 2 * time.Hour},
		{"silence add host=web1 maintenance", `host="web1"`, "maintenance", DefaultSilence},
		{`silence add alarm_name=~High.* env!=prod team!~"db|net" for 30m  noisy   rollout`, `alarm_name=~"High.*", env!="prod", team!~"db|net"`, "noisy   rollout", 30 * time.Minute},
	}
	for _, tc := range cases {
		c, err := Parse(tc.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.text, err)
			continue
		}
		if c.Kind != SilenceAdd || !strings.Contains(c.Matchers.String(), tc.matchers) || c.Comment != tc.comment || c.Duration != tc.d {
			t.Errorf("Parse(%q) = %s %q %s, want %s %q %s", tc.text, c.Matchers, c.Comment, c.Duration, tc.matchers, tc.comment, tc.d)
		}
	}
	c, _ := Parse("silence add alarm_name=~High.* why")
	if !c.Matchers.Matches(map[string]string{"alarm_name": "HighDisk"}) || c.Matchers.Matches(map[string]string{"alarm_name": "LowDisk"}) {
		t.Errorf("regex matcher does not match as Alertmanager's: %s", c.Matchers)
	}
}

func TestParseErrorsExplain(t *testing.T) {
	for text, want := range map[string]string{
		"status":                        "usage: /medic status <execution>",
		"status a b":                    "usage: /medic status <execution>",
		"approve":                       "usage: /medic approve",
		"silence":                       "usage: /medic silence add|list|expire",
		"silence mute":                  `unknown silence verb "mute"`,
		"silence add":                   "at least one label=value",
		"silence add =x why":            `silence matcher "=x"`,
		"silence add host=~( why":       `bad regex`,
		"silence add host=web1":         "say why",
		"silence add host=web1 for 2h":  "say why",
		"silence add host=a for":        "`for` needs a duration",
		"silence add host=a for ever":   `silence duration "ever"`,
		"silence add host=a for -1h":    `silence duration "-1h"`,
		"silence add host=a for 10000h": "longer than the maximum",
		"silence expire":                "usage: /medic silence expire <id>",
	} {
		_, err := Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) err = %v, want %q", text, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "help", "status x", "silence add a=b for 1h why", `silence add a=~x.* b!~"y z" c!=d why`, "reject x because", "restart nginx on web1", "silence add a=b for", "\u00a0approve\u2003x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text)
		if err != nil {
			return
		}
		if c.Kind == SilenceAdd && (len(c.Matchers) == 0 || c.Duration <= 0 || c.Duration > MaxSilence) {
			t.Fatalf("invalid silence accepted: %+v", c)
		}
		if c.Kind == Run && c.Text == "" {
			t.Fatalf("empty run command from %q", text)
		}
	})
}
