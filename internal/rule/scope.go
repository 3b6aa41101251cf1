package rule

import (
	"fmt"
	"strings"

	"github.com/medic-sre/medic/internal/trigger"
)

// Some trigger types are parameterised per rule, as StackStorm's triggers
// are: a timer tick belongs to the one rule whose timer fired (its payload
// names the rule), and a webhook rule with `url` only sees webhooks posted
// to that url. Indexing by type alone would let every timer rule fire on
// every tick.

// Accepts reports whether t is a trigger this rule listens to, and why not.
func (r *Rule) Accepts(t trigger.Trigger) (bool, string) {
	if t.Type != r.TriggerType {
		return false, fmt.Sprintf("rule is for trigger type %s, not %s", r.TriggerType, t.Type)
	}
	switch t.Type {
	case trigger.TypeIntervalTimer, trigger.TypeCronTimer:
		if owner, _ := t.Payload["rule"].(string); owner != r.Ref {
			return false, fmt.Sprintf("this timer tick belongs to rule %q", owner)
		}
	case trigger.TypeWebhook:
		want, _ := r.TriggerParameters["url"].(string)
		got, _ := t.Payload["url"].(string)
		if want != "" && webhookPath(want) != webhookPath(got) {
			return false, fmt.Sprintf("webhook url is %q, the rule listens on %q", got, want)
		}
	}
	return true, ""
}

// webhookPath normalises "/deploy/" and "deploy" alike.
func webhookPath(u string) string { return strings.Trim(u, "/") }
