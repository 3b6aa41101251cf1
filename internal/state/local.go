package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/medic-sre/medic/internal/quarantine"
)

// Local is the embedded Store of `medic serve` and the CLI: one directory
// per PK and one JSON file per item. Writers of a PK serialise on an
// advisory lock (flock on DIR/<pk>/.lock) and replace item files by atomic
// rename; readers never lock and always see whole files. So a running
// `medic serve` and `medic silence add` can share the directory, which an
// exclusive single-file database (bbolt) would not allow.
type Local struct {
	dir string
	now func() time.Time
	// mu holds one mutex per PK so goroutines of this process queue on a
	// mutex instead of each parking an OS thread in flock.
	mu sync.Map // pk -> *sync.Mutex
	// Quarantine, when set, takes item files that cannot be decoded: they
	// are moved aside and read as absent, so one damaged file never stops
	// start-up or every other key. Nil: a corrupt file is an error.
	Quarantine *quarantine.Area
}

// OpenLocal opens (creating) the store in dir and sweeps expired items.
func OpenLocal(dir string, now func() time.Time) (*Local, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	l := &Local{dir: dir, now: now}
	return l, l.Sweep()
}

// Dir is where the store lives.
func (l *Local) Dir() string { return l.dir }

// fileItem is the on-disk form. Value is inlined when it is JSON, so the
// files stay readable.
type fileItem struct {
	PK        string          `json:"pk"`
	SK        string          `json:"sk"`
	Value     json.RawMessage `json:"value,omitempty"`
	ValueB64  []byte          `json:"value_b64,omitempty"`
	Counter   int64           `json:"counter,omitempty"`
	Version   int64           `json:"version"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
}

func toFile(it Item) fileItem {
	f := fileItem{PK: it.Key.PK, SK: it.Key.SK, Counter: it.Counter, Version: it.Version}
	if len(it.Value) > 0 && json.Valid(it.Value) {
		f.Value = json.RawMessage(it.Value)
	} else if len(it.Value) > 0 {
		f.ValueB64 = it.Value
	}
	if !it.ExpiresAt.IsZero() {
		t := it.ExpiresAt.UTC()
		f.ExpiresAt = &t
	}
	return f
}

func (f fileItem) item() Item {
	it := Item{Key: Key{PK: f.PK, SK: f.SK}, Counter: f.Counter, Version: f.Version}
	if len(f.Value) > 0 {
		it.Value = []byte(f.Value)
	} else if len(f.ValueB64) > 0 {
		it.Value = f.ValueB64
	}
	if f.ExpiresAt != nil {
		it.ExpiresAt = *f.ExpiresAt
	}
	return it
}

// fileName maps a key part to a safe file name: readable when short and
// plain, a hash otherwise. The real key is inside the file.
func fileName(part string) string {
	var b strings.Builder
	for i := 0; i < len(part); i++ {
		c := part[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > 120 {
		sum := sha256.Sum256([]byte(part))
		return "~" + hex.EncodeToString(sum[:16])
	}
	return b.String()
}

func (l *Local) pkDir(pk string) string { return filepath.Join(l.dir, fileName(pk)) }

func (l *Local) path(k Key) string { return filepath.Join(l.pkDir(k.PK), fileName(k.SK)+".json") }

func (l *Local) read(path string) (*Item, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var f fileItem
	if err := json.Unmarshal(data, &f); err != nil {
		return l.setAside(path, fmt.Errorf("state: %s is corrupt: %w", path, err))
	}
	if f.PK == "" || f.SK == "" || f.Version < 1 {
		return l.setAside(path, fmt.Errorf("state: %s is corrupt: no key or version", path))
	}
	it := f.item()
	return &it, nil
}

// setAside quarantines the unreadable file at path, which then reads as
// absent; without a quarantine the problem is returned.
func (l *Local) setAside(path string, problem error) (*Item, error) {
	if l.Quarantine == nil {
		return nil, problem
	}
	if _, err := l.Quarantine.Move(path, "consolidation", problem.Error()); err != nil {
		return nil, errors.Join(problem, err)
	}
	return nil, nil
}

// SetAside implements Quarantiner: the item at k decoded as a file but
// its value is not what its owner expects.
func (l *Local) SetAside(_ context.Context, k Key, reason string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if l.Quarantine == nil {
		return fmt.Errorf("state: %s: %s (no quarantine configured)", k, reason)
	}
	return l.locked(k.PK, func() error {
		_, err := l.Quarantine.Move(l.path(k), "consolidation", fmt.Sprintf("%s: %s", k, reason))
		return err
	})
}

// readLive returns the live item at k, or nil; the raw item (even expired)
// is returned second so versions keep increasing.
func (l *Local) readLive(k Key) (live, raw *Item, err error) {
	raw, err = l.read(l.path(k))
	if err != nil || raw == nil {
		return nil, raw, err
	}
	if raw.Key != k {
		return nil, nil, fmt.Errorf("state: %s holds key %s, not %s (file name collision)", l.path(k), raw.Key, k)
	}
	if !Live(raw.ExpiresAt, l.now()) {
		return nil, raw, nil
	}
	return raw, raw, nil
}

// Get implements Store.
func (l *Local) Get(_ context.Context, k Key) (Item, bool, error) {
	if err := k.Validate(); err != nil {
		return Item{}, false, err
	}
	it, _, err := l.readLive(k)
	if err != nil || it == nil {
		return Item{}, false, err
	}
	return *it, true, nil
}

// Put implements Store.
func (l *Local) Put(_ context.Context, it Item, cond Condition) (int64, error) {
	if err := it.Key.Validate(); err != nil {
		return 0, err
	}
	var version int64
	err := l.locked(it.Key.PK, func() error {
		live, raw, err := l.readLive(it.Key)
		if err != nil {
			return err
		}
		if !cond.Holds(live) {
			return fmt.Errorf("put %s %s: %w", it.Key, cond, ErrConditionFailed)
		}
		it.Version = nextVersion(raw)
		version = it.Version
		return l.write(it)
	})
	return version, err
}

// Incr implements Store.
func (l *Local) Incr(_ context.Context, k Key, delta int64, expiresAt time.Time) (int64, error) {
	if err := k.Validate(); err != nil {
		return 0, err
	}
	var n int64
	err := l.locked(k.PK, func() error {
		live, raw, err := l.readLive(k)
		if err != nil {
			return err
		}
		it := Item{Key: k}
		if live != nil {
			it = *live
		}
		it.Counter += delta
		it.ExpiresAt = expiresAt
		it.Version = nextVersion(raw)
		n = it.Counter
		return l.write(it)
	})
	return n, err
}

func nextVersion(raw *Item) int64 {
	if raw == nil {
		return 1
	}
	return raw.Version + 1
}

// Delete implements Store.
func (l *Local) Delete(_ context.Context, k Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return l.locked(k.PK, func() error {
		err := os.Remove(l.path(k))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: %w", err)
		}
		return nil
	})
}

// Query implements Store.
func (l *Local) Query(_ context.Context, pk, skPrefix string) ([]Item, error) {
	if pk == "" {
		return nil, fmt.Errorf("state: query: empty pk")
	}
	items, err := l.all(l.pkDir(pk))
	if err != nil {
		return nil, err
	}
	now := l.now()
	out := items[:0]
	for _, it := range items {
		if it.Key.PK == pk && strings.HasPrefix(it.Key.SK, skPrefix) && Live(it.ExpiresAt, now) {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.SK < out[j].Key.SK })
	return out, nil
}

// all reads every item file of a partition directory, live or not.
func (l *Local) all(dir string) ([]Item, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var items []Item
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		it, err := l.read(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if it != nil { // removed between ReadDir and read
			items = append(items, *it)
		}
	}
	return items, nil
}

// Sweep removes the files of expired items, as DynamoDB's TTL would.
func (l *Local) Sweep() error {
	dirs, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	now := l.now()
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		quarantine.RemoveStaleTemps(filepath.Join(l.dir, d.Name()), time.Now())
		items, err := l.all(filepath.Join(l.dir, d.Name()))
		if err != nil {
			return err
		}
		for _, it := range items {
			if Live(it.ExpiresAt, now) {
				continue
			}
			err := l.locked(it.Key.PK, func() error {
				// Re-check under the lock: a writer may have renewed it.
				if live, raw, err := l.readLive(it.Key); err != nil || live != nil || raw == nil {
					return err
				}
				return os.Remove(l.path(it.Key))
			})
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("state: sweep: %w", err)
			}
		}
	}
	return nil
}

func (l *Local) write(it Item) error {
	data, err := json.Marshal(toFile(it))
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	dir := l.pkDir(it.Key.PK)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("state: %w", err)
	}
	if err := os.Rename(tmp.Name(), l.path(it.Key)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// locked runs fn holding this process's mutex and the cross-process flock
// of pk.
func (l *Local) locked(pk string, fn func() error) error {
	m, _ := l.mu.LoadOrStore(pk, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	dir := l.pkDir(pk)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("state: lock %s: %w", pk, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// LocalSubdir is where, under Medic's state directory (--state, default
// $MEDIC_STATE_DIR or .medic), the consolidation store lives.
const LocalSubdir = "consolidation"

// OpenStateDir opens the consolidation store of a Medic state directory:
// the one `medic serve` and the CLI share.
func OpenStateDir(stateDir string) (*Local, error) {
	return OpenStateDirWith(stateDir, quarantine.ForStateDir(stateDir))
}

// OpenStateDirWith is OpenStateDir with the quarantine damaged files go
// to (the caller's, to share its logger and counter).
func OpenStateDirWith(stateDir string, q *quarantine.Area) (*Local, error) {
	l := &Local{dir: filepath.Join(stateDir, LocalSubdir), now: time.Now, Quarantine: q}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return l, l.Sweep()
}
