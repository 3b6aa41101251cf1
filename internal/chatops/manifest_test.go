package chatops

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The manifest must create what the handler serves: /medic at
// /slack/commands, interactivity at /slack/interactions, and the scopes the
// code uses.
func TestManifestMatchesRoutes(t *testing.T) {
	data, err := os.ReadFile("../../slack/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `yaml:"slash_commands"`
		}
		OAuth struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
		}
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/medic" {
		t.Fatalf("slash commands = %+v", m.Features.SlashCommands)
	}
	for _, scope := range []string{"commands", "chat:write", "usergroups:read"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("scope %s missing", scope)
		}
	}
	if !m.Settings.Interactivity.Enabled {
		t.Error("interactivity disabled")
	}
	e := newEnv(t)
	for _, raw := range []string{m.Features.SlashCommands[0].URL, m.Settings.Interactivity.RequestURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Host != "MEDIC_CHATOPS_URL" {
			t.Errorf("%q: want the documented placeholder host", raw)
			continue
		}
		// An unsigned request reaching a real route is refused with 401;
		// an unknown path would be 404.
		rec := httptest.NewRecorder()
		e.h.Routes().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader("")))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401 from a served route", u.Path, rec.Code)
		}
	}
}
