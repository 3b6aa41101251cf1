package secret

import (
	"strings"
	"testing"
)

func TestScrubReplacesEveryKnownValue(t *testing.T) {
	env := map[string]string{"MEDIC_SLACK_SIGNING_SECRET": "sign-8f2a9c", "MEDIC_SLACK_BOT_TOKEN": "xoxb-123-456-abc"}
	s := &Set{Getenv: func(k string) string { return env[k] }}
	s.Add("param-secret-1", "short", "")
	in := "a=sign-8f2a9c\nb=xoxb-123-456-abc c=param-secret-1 d=short twice:sign-8f2a9csign-8f2a9c"
	got := s.Scrub(in)
	want := "a=[redacted]\nb=[redacted] c=[redacted] d=short twice:[redacted][redacted]"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestScrubSeesEnvironmentChangesAndPrefersTheLongestSecret(t *testing.T) {
	env := map[string]string{}
	s := &Set{Getenv: func(k string) string { return env[k] }}
	if got := s.Scrub("token=abcdef123"); got != "token=abcdef123" {
		t.Fatalf("nothing known yet, got %q", got)
	}
	env["MEDIC_SLACK_BOT_TOKEN"] = "abcdef"
	s.Add("abcdef123")
	// The longer secret wins where both match, so no tail ("123") is left.
	if got := s.Scrub("token=abcdef123 abcdef"); got != "token=[redacted] [redacted]" {
		t.Fatalf("got %q", got)
	}
}

func TestZeroSetScrubsNothing(t *testing.T) {
	var s Set
	text := strings.Repeat("x", 100)
	if s.Scrub(text) != text {
		t.Fatal("an empty set changed the text")
	}
}

func TestProcessSetReadsMedicsEnvironment(t *testing.T) {
	t.Setenv("MEDIC_SLACK_SIGNING_SECRET", "signing-secret-from-env")
	if got := Scrub("x signing-secret-from-env y"); got != "x [redacted] y" {
		t.Fatalf("got %q", got)
	}
}

// A secret already escaped for its destination is masked in that spelling
// too; an encoding that changes nothing adds nothing.
func TestScrubEncodedMasksEncodedSpellings(t *testing.T) {
	var s Set
	s.Add("a<b>&c-secret")
	escape := func(v string) string {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(v)
	}
	got := s.ScrubEncoded("raw a<b>&c-secret, escaped a&lt;b&gt;&amp;c-secret, other a&lt;b", escape, strings.TrimSpace)
	if want := "raw " + Mask + ", escaped " + Mask + ", other a&lt;b"; got != want {
		t.Errorf("ScrubEncoded = %q, want %q", got, want)
	}
	if got := s.Scrub("escaped a&lt;b&gt;&amp;c-secret"); got != "escaped a&lt;b&gt;&amp;c-secret" {
		t.Errorf("Scrub without encodings changed %q", got)
	}
}
