package verify

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

func headers(ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, sig)
	return h
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// Slack's documented example: the signature of this body at this time
// under this secret.
func TestSignMatchesSlackExample(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := Sign(secret, 1531420618, []byte(body))
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyOutcomesAreRefusedAndCounted(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v, err := New(secret, 0, fixedClock(now))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("command=%2Fmedic&text=help")
	ts := now.Unix() - 10
	good := Sign(secret, ts, body)

	if err := v.Verify(headers(ts, good), body); err != nil {
		t.Fatalf("authentic request refused: %v", err)
	}
	if err := v.Verify(headers(ts, good), body); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: got %v, want ErrReplayed", err)
	}
	if err := v.Verify(headers(ts, good), []byte("command=%2Fmedic&text=run")); !errors.Is(err, ErrForged) {
		t.Fatalf("tampered body: got %v, want ErrForged", err)
	}
	if err := v.Verify(headers(ts, Sign("other-secret", ts, body)), body); !errors.Is(err, ErrForged) {
		t.Fatalf("wrong secret: got %v, want ErrForged", err)
	}
	old := now.Unix() - 301
	if err := v.Verify(headers(old, Sign(secret, old, body)), body); !errors.Is(err, ErrStale) {
		t.Fatalf("stale: got %v, want ErrStale", err)
	}
	future := now.Unix() + 301
	if err := v.Verify(headers(future, Sign(secret, future, body)), body); !errors.Is(err, ErrStale) {
		t.Fatalf("future: got %v, want ErrStale", err)
	}
	if err := v.Verify(http.Header{}, body); !errors.Is(err, ErrForged) {
		t.Fatalf("unsigned: got %v, want ErrForged", err)
	}
	if err := v.Verify(headers(0, good).Clone(), body); !errors.Is(err, ErrForged) {
		t.Fatalf("timestamp not matching signature: got %v, want ErrForged", err)
	}
	want := Counters{Accepted: 1, Replayed: 1, Forged: 4, Stale: 2}
	if got := v.Counters(); got != want {
		t.Fatalf("counters = %+v, want %+v", got, want)
	}
}

func TestReplayCacheForgetsAfterWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := now
	v, _ := New(secret, time.Minute, func() time.Time { return clock })
	body := []byte("a=1")
	ts := now.Unix()
	sig := Sign(secret, ts, body)
	if err := v.Verify(headers(ts, sig), body); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(2 * time.Minute)
	// Outside the window the request is stale, and its signature is gone
	// from the cache: memory stays bounded.
	if err := v.Verify(headers(ts, sig), body); !errors.Is(err, ErrStale) {
		t.Fatalf("got %v, want ErrStale", err)
	}
	other := clock.Unix()
	if err := v.Verify(headers(other, Sign(secret, other, body)), body); err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	n := len(v.seen)
	v.mu.Unlock()
	if n != 1 {
		t.Fatalf("cache holds %d signatures, want 1", n)
	}
}

func TestNewRefusesEmptySecret(t *testing.T) {
	if _, err := New("", 0, nil); err == nil {
		t.Fatal("empty secret accepted")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("1700000000", "v0=00", []byte("a=b"))
	f.Add("", "", []byte{})
	f.Add("-1", "v0=zz", []byte("x"))
	f.Add("99999999999999999999", "v1=abc", []byte("\x00"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		v, _ := New(secret, 0, fixedClock(time.Unix(1_700_000_000, 0)))
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		if err := v.Verify(h, body); err == nil {
			t.Fatalf("random signature %q accepted", sig)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	v, _ := New(secret, 0, fixedClock(now))
	body := []byte("command=%2Fmedic&text=status+abc")
	for i := 0; b.Loop(); i++ {
		ts := now.Unix() - int64(i%200)
		_ = v.Verify(headers(ts, Sign(secret, ts, append(body, byte(i)))), body)
	}
}

// A job is its request's body with the request's signature: verified
// again however often it is retried, refused when made up or altered.
func TestVerifyJob(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v, _ := New("s3cret", 0, func() time.Time { return now })
	body := []byte("command=%2Fmedic&text=restart+nginx+on+web1&user_id=U1")
	ts := now.Add(-time.Hour).Unix() // a retry an hour later
	sig := Sign("s3cret", ts, body)
	for i := 0; i < 3; i++ {
		if err := v.VerifyJob(strconv.FormatInt(ts, 10), sig, body); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	for name, tc := range map[string]struct {
		ts, sig string
		body    []byte
		want    error
	}{
		"no signature":     {strconv.FormatInt(ts, 10), "", body, ErrForged},
		"no timestamp":     {"", sig, body, ErrForged},
		"bad timestamp":    {"yesterday", sig, body, ErrForged},
		"other secret":     {strconv.FormatInt(ts, 10), Sign("guess", ts, body), body, ErrForged},
		"altered body":     {strconv.FormatInt(ts, 10), sig, []byte("command=%2Fmedic&text=restart+sshd+on+web1&user_id=U1"), ErrForged},
		"other timestamp":  {strconv.FormatInt(ts+1, 10), sig, body, ErrForged},
		"older than a job": {strconv.FormatInt(now.Add(-7*time.Hour).Unix(), 10), Sign("s3cret", now.Add(-7*time.Hour).Unix(), body), body, ErrStale},
		"from the future":  {strconv.FormatInt(now.Add(time.Hour).Unix(), 10), Sign("s3cret", now.Add(time.Hour).Unix(), body), body, ErrStale},
	} {
		if err := v.VerifyJob(tc.ts, tc.sig, tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
