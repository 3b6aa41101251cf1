// Package verify authenticates requests from Slack: the v0 signature is an
// HMAC-SHA256 of "v0:timestamp:body" under the app's signing secret. A
// request is refused when the signature is wrong (forged), when its
// timestamp is outside the replay window (stale), or when the same
// signature was already accepted within the window (replayed). Every
// outcome is counted so operators can see attacks and clock drift.
package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Header names Slack signs requests with.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// DefaultWindow is Slack's recommended replay window.
const DefaultWindow = 5 * time.Minute

// Reasons a request is refused; errors.Is works on Verify's error.
var (
	ErrForged   = errors.New("signature does not match")
	ErrStale    = errors.New("timestamp outside the replay window")
	ErrReplayed = errors.New("signature already used")
	// ErrUnavailable: the replay cache could not be asked, so the request
	// cannot be known to be fresh; it is refused (fail closed).
	ErrUnavailable = errors.New("replay cache unavailable")
)

// ReplayCache remembers accepted signatures across processes (a Lambda
// deployment runs many instances; a replay may reach any of them).
type ReplayCache interface {
	// Claim records sig until the given time and reports whether it was
	// fresh: false when a live claim of sig already existed.
	Claim(ctx context.Context, sig string, until time.Time) (fresh bool, err error)
}

// Counters are the totals since the verifier was made.
type Counters struct {
	Accepted int64 `json:"accepted"`
	Forged   int64 `json:"forged"`
	Stale    int64 `json:"stale"`
	Replayed int64 `json:"replayed"`
	// Unavailable counts requests refused because the replay cache failed.
	Unavailable int64 `json:"unavailable"`
}

// Verifier checks signed requests. The zero value is not usable: build it
// with New. It is safe for concurrent use.
type Verifier struct {
	secret []byte
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // signature → when it stops mattering
	// shared, when set, replaces seen: see WithReplayCache.
	shared ReplayCache

	accepted, forged, stale, replayed, unavailable atomic.Int64
}

// New returns a verifier for secret with the given replay window (0 means
// DefaultWindow) and clock (nil means time.Now).
func New(secret string, window time.Duration, now func() time.Time) (*Verifier, error) {
	if secret == "" {
		return nil, errors.New("verify: the Slack signing secret is empty")
	}
	if window <= 0 {
		window = DefaultWindow
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{secret: []byte(secret), window: window, now: now, seen: map[string]time.Time{}}, nil
}

// Sign returns the v0 signature of body at timestamp ts: what Slack sends,
// and what tests use to build requests.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// WithReplayCache makes the verifier remember signatures in c instead of
// its own memory, so a replay is refused by whichever instance it reaches.
// Call it before serving.
func (v *Verifier) WithReplayCache(c ReplayCache) *Verifier {
	v.shared = c
	return v
}

// Verify checks the request headers against body. A nil error means the
// request is authentic and seen for the first time.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	return v.VerifyContext(context.Background(), h, body)
}

// VerifyContext is Verify with a context for the replay cache.
func (v *Verifier) VerifyContext(ctx context.Context, h http.Header, body []byte) error {
	err := v.check(ctx, h.Get(HeaderTimestamp), h.Get(HeaderSignature), body)
	switch {
	case err == nil:
		v.accepted.Add(1)
	case errors.Is(err, ErrStale):
		v.stale.Add(1)
	case errors.Is(err, ErrReplayed):
		v.replayed.Add(1)
	case errors.Is(err, ErrUnavailable):
		v.unavailable.Add(1)
	default:
		v.forged.Add(1)
	}
	return err
}

func (v *Verifier) check(ctx context.Context, tsHeader, sig string, body []byte) error {
	if tsHeader == "" || sig == "" {
		return fmt.Errorf("%w: missing %s or %s", ErrForged, HeaderTimestamp, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a unix time", ErrForged, HeaderTimestamp, tsHeader)
	}
	// The signature is checked before the clock so that a forged request
	// is counted as forged whatever its timestamp says.
	want := Sign(string(v.secret), ts, body)
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(sig))) {
		return ErrForged
	}
	now := v.now()
	sent := time.Unix(ts, 0)
	if age := now.Sub(sent); age > v.window || age < -v.window {
		return fmt.Errorf("%w: sent %s, now %s", ErrStale, sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if v.shared != nil {
		fresh, err := v.shared.Claim(ctx, strings.TrimSpace(sig), sent.Add(v.window))
		switch {
		case err != nil:
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		case !fresh:
			return ErrReplayed
		}
		return nil
	}
	return v.remember(sig, sent.Add(v.window), now)
}

// remember records an accepted signature until its timestamp leaves the
// window; after that the stale check refuses it anyway, so the cache stays
// bounded by the request rate times the window.
func (v *Verifier) remember(sig string, until, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for s, exp := range v.seen {
		if !exp.After(now) {
			delete(v.seen, s)
		}
	}
	if _, dup := v.seen[sig]; dup {
		return ErrReplayed
	}
	v.seen[sig] = until
	return nil
}

// MaxJobAge bounds how long after Slack signed a request its job may still
// run: Lambda retries an asynchronous invocation for up to six hours.
const MaxJobAge = 6*time.Hour + DefaultWindow

// VerifyJob checks a request's signature again where its work is done
// apart from its acceptance (the chatops Lambda's asynchronous job), so
// whoever may invoke the function but does not hold the signing secret
// cannot make up a job or change one. It claims no replay: the
// acceptance did, and a retry of the same job must pass (what the job
// does is idempotent in the request). A request older than MaxJobAge is
// refused as stale.
func (v *Verifier) VerifyJob(tsHeader, sig string, body []byte) error {
	if tsHeader == "" || sig == "" {
		return fmt.Errorf("%w: the job carries no Slack timestamp or signature", ErrForged)
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not a unix time", ErrForged, tsHeader)
	}
	if !hmac.Equal([]byte(Sign(string(v.secret), ts, body)), []byte(strings.TrimSpace(sig))) {
		return ErrForged
	}
	sent := time.Unix(ts, 0)
	if age := v.now().Sub(sent); age > MaxJobAge || age < -v.window {
		return fmt.Errorf("%w: job of a request sent %s", ErrStale, sent.UTC().Format(time.RFC3339))
	}
	return nil
}

// Counters returns a snapshot of the totals.
func (v *Verifier) Counters() Counters {
	return Counters{
		Accepted: v.accepted.Load(),
		Forged:   v.forged.Load(),
		Stale:    v.stale.Load(),
		Replayed: v.replayed.Load(),

		Unavailable: v.unavailable.Load(),
	}
}
