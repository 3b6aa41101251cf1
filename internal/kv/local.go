package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/medic-sre/medic/internal/quarantine"
)

// LocalStore keeps the datastore in one JSON file, dir/kv.json. Writers take
// an advisory lock (dir/kv.lock) for their read-modify-write and replace the
// file by atomic rename, so the CLI and a running `medic serve` can share it:
// readers never lock and always see a complete file.
type LocalStore struct {
	dir string
	now func() time.Time

	// cache is the last file read, reused while the file is unchanged:
	// templates may read keys for every rule of every trigger.
	mu     sync.Mutex
	cached map[string]Item
	stamp  fileStamp

	// Quarantine, when set, takes a kv.json that does not decode. Nil: it
	// is an error.
	Quarantine *quarantine.Area
}

// fileStamp identifies one version of the data file; each write is a new
// file (atomic rename), so a new inode, whatever the clock's granularity.
type fileStamp struct {
	ino   uint64
	mtime time.Time
	size  int64
}

const (
	dataFile = "kv.json"
	lockFile = "kv.lock"
)

// OpenLocal opens (creating if needed) the store in dir.
func OpenLocal(dir string) (*LocalStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	return &LocalStore{dir: dir, now: time.Now}, nil
}

// SetClock replaces the clock used for TTLs (tests).
func (s *LocalStore) SetClock(now func() time.Time) { s.now = now }

// Get implements Reader.
func (s *LocalStore) Get(key string) (string, bool, error) {
	items, err := s.load()
	if err != nil {
		return "", false, err
	}
	it, ok := items[key]
	if !ok || s.expired(it) {
		return "", false, nil
	}
	return it.Value, true, nil
}

// Set stores value under key; ttl 0 keeps it forever.
func (s *LocalStore) Set(key, value string, ttl time.Duration) error {
	if key == "" {
		return ErrEmptyKey
	}
	if ttl < 0 {
		return fmt.Errorf("kv: ttl must not be negative, got %s", ttl)
	}
	return s.update(func(items map[string]Item) error {
		it := Item{Key: key, Value: value}
		if ttl > 0 {
			it.Expires = s.now().Add(ttl).UTC()
		}
		items[key] = it
		return nil
	})
}

// Delete removes key, or returns ErrNotFound.
func (s *LocalStore) Delete(key string) error {
	return s.update(func(items map[string]Item) error {
		if _, ok := items[key]; !ok {
			return fmt.Errorf("%w: %q", ErrNotFound, key)
		}
		delete(items, key)
		return nil
	})
}

// List returns the live keys starting with prefix, sorted by key.
func (s *LocalStore) List(prefix string) ([]Item, error) {
	items, err := s.load()
	if err != nil {
		return nil, err
	}
	out := []Item{}
	for k, it := range items {
		if strings.HasPrefix(k, prefix) && !s.expired(it) {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *LocalStore) expired(it Item) bool {
	return !it.Expires.IsZero() && !s.now().Before(it.Expires)
}

// load returns the stored items. The map is shared with the cache: callers
// that change it must copy it first (update does).
func (s *LocalStore) load() (map[string]Item, error) {
	path := filepath.Join(s.dir, dataFile)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]Item{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	stamp := fileStamp{mtime: info.ModTime(), size: info.Size()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		stamp.ino = st.Ino
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && s.stamp == stamp {
		return s.cached, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	items := map[string]Item{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &items); err != nil {
			problem := fmt.Errorf("kv: %s is corrupt: %w", path, err)
			if s.Quarantine == nil {
				return nil, problem
			}
			// The whole datastore is this one file: set it aside and go on
			// empty, loudly, rather than stop every rule that reads it.
			if _, qerr := s.Quarantine.Move(path, "kv", problem.Error()); qerr != nil {
				return nil, errors.Join(problem, qerr)
			}
			items = map[string]Item{}
		}
	}
	s.cached, s.stamp = items, stamp
	return items, nil
}

// update runs change under the writers' lock and persists the result,
// dropping expired keys on the way so the file does not grow forever.
func (s *LocalStore) update(change func(map[string]Item) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	stored, err := s.load()
	if err != nil {
		return err
	}
	items := make(map[string]Item, len(stored)+1)
	for k, it := range stored {
		if !s.expired(it) {
			items[k] = it
		}
	}
	if err := change(items); err != nil {
		return err
	}
	return s.save(items)
}

func (s *LocalStore) save(items map[string]Item) error {
	data, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return fmt.Errorf("kv: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, dataFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("kv: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("kv: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("kv: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("kv: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, dataFile)); err != nil {
		return fmt.Errorf("kv: %w", err)
	}
	return nil
}

func (s *LocalStore) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("kv: lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
