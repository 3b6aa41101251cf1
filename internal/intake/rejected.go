package intake

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/state"
)

// RejectedPK is the state partition rejected deliveries are kept in (the
// DynamoDB table's pk in AWS).
const RejectedPK = "rejected"

// MaxRejectedBody bounds the copy of a refused body a record keeps. JSON
// escaping can grow text sixfold, and a DynamoDB item holds 400 KB, so 32
// KiB always fits; the full size is kept in Bytes.
const MaxRejectedBody = 32 << 10

// MaxRejectedReason bounds the refusal kept in a record: a reason may quote
// the sender's values, which can be as big as the body.
const MaxRejectedReason = 1 << 10

// DefaultRejectedTTL is how long a rejected record is kept: 14 days, the
// longest an SQS dead-letter queue keeps a message.
const DefaultRejectedTTL = 14 * 24 * time.Hour

// Rejected is one delivery Medic refused as malformed, kept so that no
// refusal is silent. A redelivery of the same body is the same record, with
// its Count raised.
type Rejected struct {
	// ID is a hash of the whole body.
	ID string `json:"id"`
	// At is the first refusal, LastAt the latest.
	At     time.Time `json:"at"`
	LastAt time.Time `json:"last_at"`
	// Count is how many deliveries of this body were refused.
	Count int `json:"count"`
	// Source says where it arrived ("ingest-lambda", "http POST /v1/events").
	Source string `json:"source"`
	// Reason is the refusal; Field the JSON path it is about ("" for the
	// body as a whole or when the refusal did not name one).
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
	// Bytes is the size of the whole body. Body is its first
	// MaxRejectedBody bytes when they are UTF-8 text, else BodyBase64 is;
	// Truncated says the copy is shorter than the body.
	Bytes      int    `json:"bytes"`
	Body       string `json:"body,omitempty"`
	BodyBase64 string `json:"body_base64,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
}

// NewRejected describes body, refused at at for reason, as it arrived from
// source.
func NewRejected(body []byte, source string, reason error, at time.Time) Rejected {
	sum := sha256.Sum256(body)
	r := Rejected{
		ID: hex.EncodeToString(sum[:16]), At: at.UTC(), LastAt: at.UTC(), Count: 1,
		Source: source, Bytes: len(body), Reason: "refused",
	}
	if reason != nil {
		r.Reason = bounded(reason.Error(), MaxRejectedReason)
	}
	var se *sensor.Error
	if errors.As(reason, &se) {
		r.Field = bounded(se.Field, MaxRejectedReason)
	}
	kept := body
	if len(kept) > MaxRejectedBody {
		kept, r.Truncated = cutAtRune(body[:MaxRejectedBody]), true
	}
	if utf8.Valid(kept) {
		r.Body = string(kept)
	} else {
		r.BodyBase64 = base64.StdEncoding.EncodeToString(kept)
	}
	return r
}

// cutAtRune drops a character the cut left incomplete at the end of b, so
// that a text body stays text once truncated.
func cutAtRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}

// bounded cuts s to at most n bytes, on a character boundary, marking the
// cut.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return string(cutAtRune([]byte(s[:n]))) + "…"
}

// Key is where the record is stored.
func (r Rejected) Key() state.Key { return state.Key{PK: RejectedPK, SK: r.ID} }

// RecordRejected stores r, or counts one more refusal of a body already
// recorded, and keeps it for ttl from now (DefaultRejectedTTL when 0). It
// returns the record as stored. An error means the refusal was not kept:
// the caller must then make the sender retry.
func RecordRejected(ctx context.Context, s state.Store, r Rejected, ttl time.Duration) (Rejected, error) {
	if s == nil {
		return r, errors.New("rejected event not recorded: no state store")
	}
	if ttl <= 0 {
		ttl = DefaultRejectedTTL
	}
	stored := r
	_, err := state.Update(ctx, s, r.Key(), func(it *state.Item, ok bool) (bool, error) {
		stored = r
		var prev Rejected
		if ok && json.Unmarshal(it.Value, &prev) == nil && prev.ID == r.ID {
			// A corrupt record is overwritten by this one: losing its count
			// is better than refusing to keep the new delivery.
			stored.At, stored.Count = prev.At, prev.Count+1
		}
		data, err := json.Marshal(stored)
		it.Value, it.ExpiresAt = data, r.LastAt.Add(ttl)
		return true, err
	})
	if err != nil {
		return r, fmt.Errorf("rejected event %s not recorded: %w", r.ID, err)
	}
	return stored, nil
}

// ListRejected returns the live rejected records, oldest first. A record
// that cannot be decoded is skipped and named in the error, after the
// others are returned.
func ListRejected(ctx context.Context, s state.Store) ([]Rejected, error) {
	items, err := s.Query(ctx, RejectedPK, "")
	if err != nil {
		return nil, err
	}
	out := make([]Rejected, 0, len(items))
	var bad []error
	for _, it := range items {
		var r Rejected
		if err := json.Unmarshal(it.Value, &r); err != nil {
			bad = append(bad, fmt.Errorf("rejected record %s is corrupt: %w", it.Key.SK, err))
			continue
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, errors.Join(bad...)
}
