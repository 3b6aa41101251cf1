package sensor

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// now is the clock webhooks are stamped with (they carry no time of their
// own); tests replace it.
var now = time.Now

// deliveryHeaders name a delivery the way common senders do; the first one
// present becomes the trigger id so a retried delivery is recognised.
var deliveryHeaders = []string{"idempotency-key", "x-idempotency-key", "x-request-id", "x-github-delivery", "x-amz-sns-message-id"}

// parseWebhook builds st2's core.st2.webhook trigger: {url, body, headers}.
// url is the path after ".../webhooks/", as in st2 where a rule matches
// trigger.url against the name the webhook was registered under.
func parseWebhook(body []byte, in Request) ([]trigger.Trigger, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, decodeErr("", err)
	}
	url := webhookURL(in.Path)
	if url == "" {
		return nil, fieldErr("path", "is %q: a webhook needs a name, e.g. POST /v1/webhooks/deploy-failed", in.Path)
	}
	headers := map[string]any{}
	for k, val := range in.Headers {
		headers[strings.ToLower(k)] = val
	}
	id := ""
	for _, h := range deliveryHeaders {
		if s, ok := headers[h].(string); ok && s != "" {
			id = "webhook:" + url + ":" + s
			break
		}
	}
	if id == "" {
		id = stableID("webhook:"+url+":", string(body))
	}
	return []trigger.Trigger{{
		ID:      id,
		Type:    trigger.TypeWebhook,
		Source:  "webhook",
		Time:    now().UTC(),
		Payload: map[string]any{"url": url, "body": v, "headers": headers},
	}}, nil
}

// webhookURL strips everything up to and including "webhooks/".
func webhookURL(path string) string {
	if i := strings.Index(path, "webhooks/"); i >= 0 {
		path = path[i+len("webhooks/"):]
	}
	return strings.Trim(path, "/")
}
