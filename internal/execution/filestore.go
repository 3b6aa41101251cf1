package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// FileStore keeps one JSON file per execution in a directory. Files, rather
// than an exclusive-lock database, let `medic executions` read while
// `medic serve` writes, and survive restarts.
type FileStore struct{ dir string }

// OpenFileStore creates dir if needed.
func OpenFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("execution store %s: %w", dir, err)
	}
	return &FileStore{dir: dir}, nil
}

// IDs are Step Functions execution names: 1-80 of these characters.
var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func (s *FileStore) path(id string) (string, error) {
	if !validID.MatchString(id) {
		return "", fmt.Errorf("execution id %q: want 1-80 letters, digits, '-' or '_'", id)
	}
	return filepath.Join(s.dir, id+".json"), nil
}

// Create writes the record only if no record of that ID exists; the hard
// link makes create-if-absent atomic across processes.
func (s *FileStore) Create(rec *Record) error {
	final, err := s.path(rec.ID)
	if err != nil {
		return err
	}
	tmp, err := s.writeTemp(rec)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return ErrExists
		}
		return fmt.Errorf("create execution %s: %w", rec.ID, err)
	}
	return nil
}

// Put replaces the record atomically.
func (s *FileStore) Put(rec *Record) error {
	final, err := s.path(rec.ID)
	if err != nil {
		return err
	}
	tmp, err := s.writeTemp(rec)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write execution %s: %w", rec.ID, err)
	}
	return nil
}

func (s *FileStore) writeTemp(rec *Record) (string, error) {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode execution %s: %w", rec.ID, err)
	}
	f, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Get reads one record.
func (s *FileStore) Get(id string) (*Record, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	return readRecord(p)
}

func readRecord(p string) (*Record, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &rec, nil
}

// List returns every record, newest first.
func (s *FileStore) List() ([]*Record, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		return nil, err
	}
	recs := make([]*Record, 0, len(paths))
	for _, p := range paths {
		rec, err := readRecord(p)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Started.After(recs[j].Started) })
	return recs, nil
}
