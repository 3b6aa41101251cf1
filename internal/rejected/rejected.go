// Package rejected keeps the deliveries `medic serve` refused as malformed,
// so a refusal is never silent: each is one JSON file under
// <state>/rejected/ with the reason, the time, the path it was posted to
// and the body (bounded), listed by `medic events rejected`. (In AWS the
// ingest Lambda keeps its refusals its own way; see docs/reliability.md.)
package rejected

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Subdir is the place of refusals under a Medic state directory.
const Subdir = "rejected"

// MaxBody bounds the body kept per refusal: enough to see what was sent,
// not enough for a sender to fill the disk with one request.
const MaxBody = 64 << 10

// Entry is one refused delivery.
type Entry struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	// Path is where it was posted (/v1/events/cloudwatch, a webhook path).
	Path string `json:"path"`
	// Size is the whole body's length; Body holds at most MaxBody bytes
	// of it (Truncated says so), as text when it is UTF-8, else BodyB64.
	Size      int    `json:"size"`
	Body      string `json:"body,omitempty"`
	BodyB64   []byte `json:"body_b64,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// File is where the entry is kept (set by List).
	File string `json:"file,omitempty"`
}

// Store is the directory of refusals.
type Store struct {
	Dir string
	Now func() time.Time // nil: time.Now
}

// Keep records one refusal. An error means it could not be kept: the
// caller should then ask the sender to retry rather than drop it.
func (s *Store) Keep(reason, path string, body []byte) error {
	e := Entry{At: s.now().UTC(), Reason: reason, Path: path, Size: len(body)}
	if len(body) > MaxBody {
		body, e.Truncated = body[:MaxBody], true
	}
	if utf8.Valid(body) {
		e.Body = string(body)
	} else {
		e.BodyB64 = body
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("rejected: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("rejected: %w", err)
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	name := e.At.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(nonce[:]) + ".json"
	tmp, err := os.CreateTemp(s.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("rejected: %w", err)
	}
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("rejected: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.Dir, name)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("rejected: %w", err)
	}
	return nil
}

// List returns the kept refusals, oldest first. A file that does not
// decode is listed with that as its reason rather than hidden.
func (s *Store) List() ([]Entry, error) {
	des, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rejected: %w", err)
	}
	var out []Entry
	for _, de := range des {
		if de.IsDir() || strings.HasPrefix(de.Name(), ".") || !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		file := filepath.Join(s.Dir, de.Name())
		var e Entry
		data, err := os.ReadFile(file)
		if err == nil {
			err = json.Unmarshal(data, &e)
		}
		if err != nil {
			e = Entry{Reason: "this record is unreadable: " + err.Error()}
		}
		e.File = file
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
