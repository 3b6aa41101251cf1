// Package slackfake is a recording Slack Web API for tests: slack-go's
// slacktest server with our own chat.postMessage and chat.update handlers
// (slacktest's own do not record what was posted) and a usergroups.list.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Message is one recorded chat.postMessage or chat.update call.
type Message struct {
	Method   string // chat.postMessage or chat.update
	Channel  string
	TS       string // the message's ts (assigned, or the updated one)
	ThreadTS string
	Text     string
	Blocks   string // the blocks JSON as sent
}

// Fake is a running fake Slack.
type Fake struct {
	Server *slacktest.Server
	// Groups are returned by usergroups.list: group ID → member user IDs.
	Groups map[string][]string

	mu       sync.Mutex
	messages []Message
	next     int
}

// New starts a fake Slack, stopped when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.record("chat.postMessage"))
		c.Handle("/chat.update", f.record("chat.update"))
		c.Handle("/usergroups.list", f.userGroups)
	})
	f.Server.Start()
	t.Cleanup(f.Server.Stop)
	return f
}

// Client returns a slack-go client talking to the fake.
func (f *Fake) Client() *slack.Client {
	return slack.New("xoxb-test-token", slack.OptionAPIURL(f.Server.GetAPIURL()))
}

// Messages returns what was posted and updated, in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.messages...)
}

func (f *Fake) record(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := Message{
			Method:   method,
			Channel:  r.FormValue("channel"),
			TS:       r.FormValue("ts"),
			ThreadTS: r.FormValue("thread_ts"),
			Text:     r.FormValue("text"),
			Blocks:   readable(r.FormValue("blocks")),
		}
		if m.Channel == "" {
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		f.mu.Lock()
		if method == "chat.postMessage" {
			f.next++
			m.TS = fmt.Sprintf("1700000000.%06d", f.next)
		}
		f.messages = append(f.messages, m)
		f.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
	}
}

func (f *Fake) userGroups(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var groups []map[string]any
	for id, users := range f.Groups {
		groups = append(groups, map[string]any{"id": id, "users": users})
	}
	writeJSON(w, map[string]any{"ok": true, "usergroups": groups})
}

// readable re-encodes blocks without Go's HTML escaping (& as \u0026), so
// tests can look for text as Slack would show it.
func readable(blocks string) string {
	var v any
	if json.Unmarshal([]byte(blocks), &v) != nil {
		return blocks
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(b.String())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Hostile are chat and alert texts that Slack turns into a mention or a
// link when they reach a parsed text unescaped.
var Hostile = []string{"<!channel>", "<!here>", "<@U123>", "<http://evil.example|click>"}

// Parsed returns the texts of a message that Slack parses for mentions
// and links: the top-level text (the notification and fallback) and every
// mrkdwn text object of the blocks. plain_text objects are never parsed.
func (m Message) Parsed() []string {
	return append([]string{m.Text}, mrkdwnTexts(m.Blocks)...)
}

// Live returns which of the needles appear as is (unescaped) in a parsed
// text of the message.
func (m Message) Live(needles ...string) []string {
	var found []string
	for _, text := range m.Parsed() {
		for _, n := range needles {
			if strings.Contains(text, n) {
				found = append(found, n)
			}
		}
	}
	return found
}

// mrkdwnTexts collects the "text" of every {"type":"mrkdwn"} object in a
// blocks (or any Slack payload) JSON document.
func mrkdwnTexts(doc string) []string {
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "mrkdwn" {
				if s, ok := x["text"].(string); ok {
					out = append(out, s)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// WebhookLive is Live for a response_url answer (a slack.WebhookMessage).
func WebhookLive(msg *slack.WebhookMessage, needles ...string) []string {
	blocks, _ := json.Marshal(msg.Blocks)
	return Message{Text: msg.Text, Blocks: string(blocks)}.Live(needles...)
}
