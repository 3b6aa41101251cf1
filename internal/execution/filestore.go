package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/medic-sre/medic/internal/quarantine"
)

// FileStore keeps one JSON file per execution in a directory. Files, rather
// than an exclusive-lock database, let `medic executions` read while
// `medic serve` writes, and survive restarts.
type FileStore struct {
	dir string
	// Quarantine, when set, takes records that cannot be read: List skips
	// them (and says so), Get reports ErrCorrupt. Nil: they are errors.
	Quarantine *quarantine.Area
}

// OpenFileStore creates dir if needed.
func OpenFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("execution store %s: %w", dir, err)
	}
	quarantine.RemoveStaleTemps(dir, time.Now())
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

// ErrCorrupt is returned by Get for a record that could not be read; it
// has been quarantined.
var ErrCorrupt = errors.New("execution record is corrupt")

// Get reads one record.
func (s *FileStore) Get(id string) (*Record, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	rec, err := readRecord(p)
	if errors.Is(err, errUndecodable) && s.Quarantine != nil {
		if _, qerr := s.Quarantine.Move(p, "execution", err.Error()); qerr != nil {
			return nil, errors.Join(err, qerr)
		}
		return nil, fmt.Errorf("%w: %v (moved to %s)", ErrCorrupt, err, s.Quarantine.Dir)
	}
	return rec, err
}

var errUndecodable = errors.New("not a readable execution record")

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
		return nil, fmt.Errorf("%s: %w: %v", p, errUndecodable, err)
	}
	if want := filepath.Base(p); rec.ID+".json" != want {
		return nil, fmt.Errorf("%s: %w: it names execution %q", p, errUndecodable, rec.ID)
	}
	return &rec, nil
}

// List returns every readable record, newest first.
func (s *FileStore) List() ([]*Record, error) {
	recs, _, err := s.ListReport()
	return recs, err
}

// ListReport is List that also returns the records it quarantined instead
// of failing on them (a crash can leave a truncated file behind).
func (s *FileStore) ListReport() ([]*Record, []quarantine.Entry, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	recs := make([]*Record, 0, len(paths))
	var skipped []quarantine.Entry
	for _, p := range paths {
		rec, err := readRecord(p)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // removed since the Glob
		case errors.Is(err, errUndecodable) && s.Quarantine != nil:
			e, qerr := s.Quarantine.Move(p, "execution", err.Error())
			if qerr != nil {
				return nil, nil, errors.Join(err, qerr)
			}
			skipped = append(skipped, e)
			continue
		case err != nil:
			return nil, nil, err
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Started.After(recs[j].Started) })
	return recs, skipped, nil
}
