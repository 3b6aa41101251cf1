package intake

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/state"
)

// A corrupt rejected record neither stops a new refusal from being kept
// (it is overwritten) nor hides the other records from a listing (it is
// skipped and named).
func TestRejectedRecordsSurviveACorruptOne(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	s := state.NewMemory(func() time.Time { return at })
	_, reason := sensor.Parse([]byte(`{"hello":"world"}`), sensor.Request{})
	r := NewRejected([]byte(`{"hello":"world"}`), "test", reason, at)
	if r.Field != "" || !strings.Contains(r.Reason, "unknown event shape") {
		t.Fatalf("record %+v", r)
	}
	if _, err := s.Put(ctx, state.Item{Key: r.Key(), Value: []byte("{truncated")}, state.Always()); err != nil {
		t.Fatal(err)
	}
	stored, err := RecordRejected(ctx, s, r, time.Hour)
	if err != nil || stored.Count != 1 {
		t.Fatalf("over a corrupt record: %+v, %v", stored, err)
	}
	other := NewRejected([]byte("x"), "test", errors.New("not JSON"), at.Add(-time.Minute))
	if _, err := RecordRejected(ctx, s, other, -time.Hour); err != nil {
		t.Fatal(err)
	}
	// A ttl of zero or less (a hostile or missing setting) is the default,
	// never an already expired record.
	if it, ok, _ := s.Get(ctx, other.Key()); !ok || !it.ExpiresAt.Equal(other.LastAt.Add(DefaultRejectedTTL)) {
		t.Fatalf("record %v kept until %v, want %v", ok, it.ExpiresAt, other.LastAt.Add(DefaultRejectedTTL))
	}
	if _, err := s.Put(ctx, state.Item{Key: state.Key{PK: RejectedPK, SK: "broken"}, Value: []byte("nope")}, state.Always()); err != nil {
		t.Fatal(err)
	}
	list, err := ListRejected(ctx, s)
	if len(list) != 2 || list[0].ID != other.ID || list[1].ID != r.ID {
		t.Fatalf("list %+v, want the two good records oldest first", list)
	}
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("error %v, want the corrupt record named", err)
	}
	if _, err := RecordRejected(ctx, nil, r, 0); err == nil {
		t.Fatal("recorded with no store")
	}
}

// The refusal log line quotes the reason cut to MaxRejectedReason, however
// big the value the sender made the sensor quote.
func TestRefusalLogLineIsBounded(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	body := `{"version":"0","id":"1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","region":"us-east-1",` +
		`"detail":{"alarmName":"a","state":{"value":"` + strings.Repeat("x", 500000) + `","timestamp":"2026-01-01T00:00:00.000+0000"}}}`
	if _, err := Process(context.Background(), nil, log, []byte(body), sensor.Request{}); err == nil {
		t.Fatal("accepted")
	}
	if n := logs.Len(); n == 0 || n > 2*MaxRejectedReason {
		t.Fatalf("log line of %d bytes", n)
	}
}
