package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/intake"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/metrics"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/dynamo"
	"github.com/medic-sre/medic/internal/state/statetest"
)

// refusedSamples are the real payloads a sender may deliver that Medic
// must refuse (from /work/shared/alert-payloads/edge and payloads, kept in
// events/invalid).
var refusedSamples = []string{
	"eventbridge-alarm-configuration-change.json", "eventbridge-ec2-state-change.json",
	"ses-records-not-sns.json", "sns-message-plain-text.json", "sns-message-json-not-an-alarm.json",
	"sns-http-subscription-confirmation.json", "alertmanager-version-3-alerta.json", "grafana-unified-webhook.json",
}

// The table the handler keeps its state in, read back by the test.
func tableOf(t *testing.T, h *Handler) state.Store {
	t.Helper()
	if h.state == nil {
		t.Fatal("handler has no state table")
	}
	return h.state
}

// A refused delivery is acknowledged (nil error: a retry cannot fix it),
// kept in the state table with its reason, source, a copy of the body and
// a TTL, and counted as EventsRejected; a redelivery of the same body
// raises the record's count instead of adding one.
func TestRefusedEventsAreRecordedCountedAndAcknowledged(t *testing.T) {
	h, st, clock := consolidating(t)
	c := &counter{counts: map[string]int{}}
	h.CountWith(c)
	ctx := context.Background()
	for _, name := range refusedSamples {
		raw, err := os.ReadFile(filepath.Join("../../events/invalid", name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.Handle(ctx, raw)
		if err != nil {
			t.Fatalf("%s: refused event not acknowledged: %v", name, err)
		}
		r := res.Rejected
		if r == nil || r.Count != 1 || r.Source != "ingest-lambda" || !strings.HasPrefix(r.Reason, "sensor: ") ||
			r.Field == "" || r.Body != string(raw) || r.Bytes != len(raw) || r.Truncated {
			t.Fatalf("%s: rejected record %+v", name, r)
		}
		it, ok, err := tableOf(t, h).Get(ctx, r.Key())
		if err != nil || !ok {
			t.Fatalf("%s: record not in the table: %v", name, err)
		}
		if want := clock.Now().Add(intake.DefaultRejectedTTL); !it.ExpiresAt.Equal(want.Truncate(time.Millisecond)) && !it.ExpiresAt.Equal(want) {
			t.Errorf("%s: expires %v, want %v", name, it.ExpiresAt, want)
		}
	}
	if len(st.started) != 0 {
		t.Fatalf("a refused event started %d executions", len(st.started))
	}
	clock.Advance(time.Minute)
	again, err := h.Handle(ctx, mustRead(t, "../../events/invalid/"+refusedSamples[0]))
	if err != nil || again.Rejected.Count != 2 || !again.Rejected.LastAt.Equal(clock.Now()) || again.Rejected.At.Equal(again.Rejected.LastAt) {
		t.Fatalf("redelivery: %+v, %v", again.Rejected, err)
	}
	list, err := intake.ListRejected(ctx, tableOf(t, h))
	if err != nil || len(list) != len(refusedSamples) {
		t.Fatalf("ListRejected: %d records, %v; want %d", len(list), err, len(refusedSamples))
	}
	if c.counts[metrics.EventsRejected] != len(refusedSamples)+1 {
		t.Errorf("EventsRejected = %d, want %d", c.counts[metrics.EventsRejected], len(refusedSamples)+1)
	}
}

// A malformed Step Functions status change is kept the same way.
func TestMalformedStatusChangeIsRecorded(t *testing.T) {
	h, _, _ := consolidating(t)
	ev := statusEvent(t, "", "FAILED")
	res, err := h.Handle(context.Background(), ev)
	if err != nil || res.Rejected == nil || !strings.Contains(res.Rejected.Reason, "detail.name") {
		t.Fatalf("got %+v, %v", res.Rejected, err)
	}
}

// When the state table cannot keep the refusal (here: a table that does
// not exist, on the real DynamoDB protocol), the invoke fails, so Lambda's
// asynchronous retries and, in the end, the dead-letter queue keep it.
func TestRefusedEventNotRecordedFailsTheInvoke(t *testing.T) {
	clock := statetest.NewClock()
	client, _ := db.NewTable(t)
	h, err := New(Settings{PacksDir: "../../packs", PollSeconds: 5}, &recordingStarter{}, kv.Map{},
		dynamo.New(client, "no-such-table", clock.Now), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{counts: map[string]int{}}
	h.CountWith(c)
	_, err = h.Handle(context.Background(), mustRead(t, "../../events/invalid/"+refusedSamples[0]))
	if err == nil || !strings.Contains(err.Error(), "not recorded") || !strings.Contains(err.Error(), "detail-type") {
		t.Fatalf("got %v; want an error saying the refusal was not recorded, and why it was refused", err)
	}
	if c.counts[metrics.EventsRejected] != 1 {
		t.Errorf("EventsRejected = %d, want 1", c.counts[metrics.EventsRejected])
	}
	// Without any table at all the same holds.
	bare, _ := newHandler(t)
	if _, err := bare.Handle(context.Background(), mustRead(t, "../../events/invalid/unknown-shape.json")); err == nil {
		t.Fatal("a refusal with no table to keep it was acknowledged")
	}
}

// Hostile bodies: one over the sensor's size limit, one whose every byte
// JSON-escapes sixfold, one that is not text. Each is kept, bounded, in one
// DynamoDB item, and the copy says what it is.
func TestHostileRefusedBodiesAreKeptBounded(t *testing.T) {
	h, _, _ := consolidating(t)
	ctx := context.Background()
	cases := map[string][]byte{
		"over the limit": bytes.Repeat([]byte("x"), 2<<20),
		"escapes 6x":     append(append([]byte(`{"a":"`), bytes.Repeat([]byte{1}, 100<<10)...), '"', '}'),
		"not text":       append([]byte{0xff, 0xfe}, bytes.Repeat([]byte{0xc3}, 50<<10)...),
		"cut mid-rune":   append(bytes.Repeat([]byte("a"), intake.MaxRejectedBody-1), []byte("é and more")...),
		// The refusal quotes the 500 KB state value; the record must still fit.
		"huge quoted value": []byte(`{"version":"0","id":"1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch",` +
			`"region":"us-east-1","detail":{"alarmName":"a","state":{"value":"` + strings.Repeat("é", 250000) +
			`","timestamp":"2026-01-01T00:00:00.000+0000"}}}`),
	}
	for name, body := range cases {
		res, err := h.Handle(ctx, body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := res.Rejected
		if r == nil || r.Bytes != len(body) || !r.Truncated || len(r.Reason) > intake.MaxRejectedReason+len("…") {
			t.Fatalf("%s: bytes %d, truncated %v, reason of %d bytes", name, r.Bytes, r.Truncated, len(r.Reason))
		}
		kept := []byte(r.Body)
		if r.BodyBase64 != "" {
			kept, _ = base64.StdEncoding.DecodeString(r.BodyBase64)
		}
		if len(kept) > intake.MaxRejectedBody || !bytes.HasPrefix(body, kept) || len(kept) < intake.MaxRejectedBody-3 {
			t.Errorf("%s: kept %d bytes, not a prefix of at most %d", name, len(kept), intake.MaxRejectedBody)
		}
		if (name == "not text") != (r.BodyBase64 != "") {
			t.Errorf("%s: body %d chars, base64 %d chars", name, len(r.Body), len(r.BodyBase64))
		}
		list, err := intake.ListRejected(ctx, tableOf(t, h))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range list {
			found = found || l.ID == r.ID && l.Body == r.Body && l.BodyBase64 == r.BodyBase64
		}
		if !found {
			t.Errorf("%s: record not read back whole", name)
		}
	}
}

func mustRead(t *testing.T, path string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An accepted alert that the state table could not record is not
// acknowledged either, even when no rule matched it: a resolution that was
// not recorded would leave its groups open.
func TestAcceptedAlertNotRecordedFailsTheInvoke(t *testing.T) {
	clock := statetest.NewClock()
	client, _ := db.NewTable(t)
	h, err := New(Settings{PacksDir: "../../packs", PollSeconds: 5}, &recordingStarter{}, kv.Map{},
		dynamo.New(client, "no-such-table", clock.Now), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cloudwatch/eventbridge-alarm-ok.json", "local/disk-full-alarm.json"} {
		if _, err := h.Handle(context.Background(), mustRead(t, "../../events/"+name)); err == nil || !strings.Contains(err.Error(), "consolidation") {
			t.Errorf("%s: got %v, want the invoke failed on consolidation", name, err)
		}
	}
}
