package access

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const sample = `
channel: C1
run:
  - actions: ["linux.*"]
    groups: [S1]
    channels: [C1]
  - actions: ["*"]
    users: [U9]
approve:
  - actions: ["linux.free_disk"]
    users: [U2]
    channels: [C1]
`

func TestGrants(t *testing.T) {
	c, err := Parse("chatops.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		check   func() error
		allowed bool
		reason  string
	}{
		{"group member in channel", func() error {
			return c.CanRun("linux.free_disk", Who{User: "U1", Groups: []string{"S1"}, Channel: "C1"})
		}, true, ""},
		{"group member elsewhere", func() error {
			return c.CanRun("linux.free_disk", Who{User: "U1", Groups: []string{"S1"}, Channel: "C2"})
		}, false, "name other users"},
		{"stranger", func() error { return c.CanRun("linux.free_disk", Who{User: "U3", Channel: "C1"}) }, false, "<@U3> may not run action linux.free_disk"},
		{"lead anywhere", func() error { return c.CanRun("aws.reboot", Who{User: "U9", Channel: "D1"}) }, true, ""},
		{"approver in channel", func() error { return c.CanApprove("linux.free_disk", Who{User: "U2", Channel: "C1"}) }, true, ""},
		{"approver elsewhere", func() error { return c.CanApprove("linux.free_disk", Who{User: "U2", Channel: "C7"}) }, false, "approve"},
		{"approval of uncovered action", func() error { return c.CanApprove("linux.reboot", Who{User: "U2", Channel: "C1"}) }, false, "no grant in chatops.yaml covers it"},
		{"silence falls back to run grants", func() error { return c.CanSilence(Who{User: "U9"}) }, true, ""},
		{"silence refused", func() error { return c.CanSilence(Who{User: "U4", Channel: "C1"}) }, false, "silences"},
	}
	for _, tc := range cases {
		err := tc.check()
		if (err == nil) != tc.allowed {
			t.Errorf("%s: err = %v, want allowed=%v", tc.name, err, tc.allowed)
		}
		if err != nil && !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %q does not explain %q", tc.name, err, tc.reason)
		}
	}
	if !c.NeedsGroups() {
		t.Error("NeedsGroups = false with a groups grant")
	}
}

func TestParseProblemsNameFileAndField(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"run:\n  - users: [U1]\n", "c.yaml: run[0]: actions: needs at least one action glob"},
		{"approve:\n  - actions: [\"[\"]\n    users: [U1]\n", `c.yaml: approve[0]: actions: "[" is not a valid glob`},
		{"silence:\n  - actions: [x]\n", "c.yaml: silence[0]: needs users, groups or channels"},
		{"runn: []\n", "c.yaml: yaml: unmarshal errors:\n  line 1: field runn not found"},
		{"run: 5\n", "c.yaml: yaml: unmarshal errors"},
	} {
		_, err := Parse("c.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
	c, err := Parse("empty.yaml", nil)
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	if c.CanRun("x.y", Who{User: "U1"}) == nil {
		t.Fatal("empty config allowed a run")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "..", "..", "config", "chatops.example.yaml")
	if _, err := os.Stat(example); err != nil {
		t.Fatalf("example config missing: %v", err)
	}
	if _, err := Load(example); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("run:\n  - actions: ['*']\n    users: ['*']\n"))
	f.Add([]byte("{{{"))
	f.Add([]byte("approve: [1, 2]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		_ = c.CanRun("linux.free_disk", Who{User: "U1", Groups: []string{"S1"}, Channel: "C1"})
		_ = c.CanSilence(Who{User: "U1"})
	})
}
