package app

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/demo"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/slack/verify"
)

const signingSecret = "test-signing-secret"

// With Slack configured, `medic serve` posts the incident thread for the
// demo alert, and its /slack/ routes verify every request.
func TestServeWithSlack(t *testing.T) {
	fake := slackfake.New(t)
	conf := filepath.Join(t.TempDir(), "chatops.yaml")
	os.WriteFile(conf, []byte("channel: C0OPS\nrun:\n  - actions: [\"*\"]\n    users: [U0LEAD]\n"), 0o644)
	var out bytes.Buffer
	local, err := NewLocal(LocalConfig{
		PacksDir: filepath.Join(repo, "packs"), MachinesDir: filepath.Join(repo, "statemachines"),
		StateDir: t.TempDir(), PollSeconds: 1, Out: &out,
		Slack:         secrets.Slack{BotToken: secrets.New("xoxb-test"), SigningSecret: secrets.New(signingSecret)},
		ChatopsConfig: conf, SlackAPIURL: fake.Server.GetAPIURL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptestServer(t, local)
	scene := demo.DefaultScene(repo, &out)
	scene.Dir = filepath.Join(t.TempDir(), "scratch")
	scene.APIToken = local.Server.APIToken
	if err := scene.Play(srv, time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	local.Starter.Wait()
	msgs := fake.Messages()
	if len(msgs) < 2 || msgs[0].Channel != "C0OPS" {
		t.Fatalf("no incident thread in Slack: %+v", msgs)
	}
	all := ""
	for _, m := range msgs {
		all += m.Text + m.Blocks
	}
	if !strings.Contains(all, "linux.free_disk") || !strings.Contains(all, "SUCCEEDED") {
		t.Fatalf("thread lacks the action or the outcome:\n%s", all)
	}

	body := url.Values{"command": {"/medic"}, "text": {"help"}, "user_id": {"U0LEAD"}, "channel_id": {"C0OPS"}}.Encode()
	if code := slackPost(t, srv, body, "v0=forged"); code != http.StatusUnauthorized {
		t.Fatalf("forged request: %d, want 401", code)
	}
	ts := time.Now().Unix()
	if code := slackPost(t, srv, body, verify.Sign(signingSecret, ts, []byte(body))); code != http.StatusOK {
		t.Fatalf("signed request: %d, want 200", code)
	}
}

func slackPost(t *testing.T, base, body, sig string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/slack/commands", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
