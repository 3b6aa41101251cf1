package execution

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/quarantine"
)

func TestFileStoreCreateIsOncePerID(t *testing.T) {
	s, err := OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var created atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Create(&Record{ID: "alarm-1", Status: Running})
			switch {
			case err == nil:
				created.Add(1)
			case !errors.Is(err, ErrExists):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("created %d times, want once", created.Load())
	}
}

func TestFileStoreRoundTripAndOrder(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFileStore(dir)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	old := &Record{ID: "old", Started: t0, Status: Succeeded}
	newer := &Record{ID: "new", Started: t0.Add(time.Minute), Status: Running}
	for _, r := range []*Record{old, newer} {
		if err := s.Create(r); err != nil {
			t.Fatal(err)
		}
	}
	newer.Status = Failed
	newer.Add(t0.Add(2*time.Minute), "outcome", "failed", "boom")
	if err := s.Put(newer); err != nil {
		t.Fatal(err)
	}
	// A second store over the same directory sees it: state survives restarts.
	s2, _ := OpenFileStore(dir)
	got, err := s2.Get("new")
	if err != nil || got.Status != Failed || len(got.Timeline) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	list, _ := s2.List()
	if len(list) != 2 || list[0].ID != "new" || list[1].ID != "old" {
		t.Fatalf("list order wrong: %v", list)
	}
	if _, err := s2.Get("missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestFileStoreRejectsPathTricks(t *testing.T) {
	s, _ := OpenFileStore(t.TempDir())
	for _, id := range []string{"../x", "a/b", "", strings.Repeat("a", 81)} {
		if err := s.Create(&Record{ID: id}); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
}

func TestRenderShowsEveryStep(t *testing.T) {
	t0 := time.Now()
	rec := &Record{ID: "x", Status: Succeeded, Rule: "linux.r", Action: "linux.a", StateMachine: "m", Started: t0}
	rec.Add(t0, "alert", "disk-full", "ALARM")
	rec.Add(t0.Add(time.Second), "state", "Remediate", "line1\nline2")
	var b bytes.Buffer
	Render(&b, rec)
	out := b.String()
	for _, want := range []string{"[SUCCEEDED]", "linux.r", "alert", "disk-full", "Remediate", "line2"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// A record truncated by a crash (or naming another execution) no longer
// makes the whole list fail: it is quarantined, reported, and skipped;
// Get on it says it is corrupt.
func TestFileStoreQuarantinesDamagedRecords(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "executions")
	s, _ := OpenFileStore(dir)
	if err := s.Create(&Record{ID: "good", Status: Succeeded}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cut.json"), []byte(`{"id":"cut","status":"RUNN`), 0o644)
	os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"id":"someone-else"}`), 0o644)
	if _, err := s.List(); err == nil {
		t.Fatal("without a quarantine a damaged record must be an error")
	}
	s.Quarantine = quarantine.ForStateDir(state)
	recs, skipped, err := s.ListReport()
	if err != nil || len(recs) != 1 || recs[0].ID != "good" || len(skipped) != 2 {
		t.Fatalf("list = %v, skipped %+v, %v", recs, skipped, err)
	}
	os.WriteFile(filepath.Join(dir, "cut.json"), []byte(`{`), 0o644)
	if _, err := s.Get("cut"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("get = %v, want ErrCorrupt", err)
	}
	if list, _ := s.Quarantine.List(); len(list) != 3 {
		t.Fatalf("quarantine = %+v", list)
	}
}
