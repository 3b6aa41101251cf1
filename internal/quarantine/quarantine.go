// Package quarantine sets damaged state files aside. A record that cannot
// be read (truncated by a crash, edited by hand, written by a newer
// version) is moved into <state>/quarantine/ with a note saying where it
// came from and why, so one bad file never stops everything else, and
// nothing is deleted: `medic doctor` lists what is there and an operator
// decides.
package quarantine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Subdir is the quarantine's place under a Medic state directory.
const Subdir = "quarantine"

// noteSuffix names the note written beside each quarantined file.
const noteSuffix = ".why.json"

// Area is the quarantine of one state directory.
type Area struct {
	// Dir is <state>/quarantine.
	Dir string
	// Log names every file set aside (nil: slog.Default()).
	Log *slog.Logger
	// Now stamps notes (nil: time.Now).
	Now   func() time.Time
	moved atomic.Int64
}

// ForStateDir is the area of a Medic state directory.
func ForStateDir(stateDir string) *Area { return &Area{Dir: filepath.Join(stateDir, Subdir)} }

// Entry is one quarantined file.
type Entry struct {
	// File is the quarantined copy, under Dir.
	File string `json:"file"`
	// Source is where the file was.
	Source string `json:"source"`
	// Kind says what the file was: execution, consolidation, kv.
	Kind   string    `json:"kind"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Move sets the file at path aside and returns the entry. A file already
// gone (another reader quarantined it first) is not an error: the entry
// is then zero.
func (a *Area) Move(path, kind, reason string) (Entry, error) {
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return Entry{}, fmt.Errorf("quarantine: %w", err)
	}
	now := a.now()
	name := fmt.Sprintf("%s-%s-%s", now.UTC().Format("20060102T150405.000000000Z"), kind, filepath.Base(path))
	dest := filepath.Join(a.Dir, name)
	if err := os.Rename(path, dest); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Entry{}, nil
		}
		return Entry{}, fmt.Errorf("quarantine %s: %w", path, err)
	}
	e := Entry{File: dest, Source: path, Kind: kind, Reason: reason, At: now}
	note, _ := json.MarshalIndent(e, "", "  ")
	if err := os.WriteFile(dest+noteSuffix, note, 0o600); err != nil {
		return e, fmt.Errorf("quarantine: note for %s: %w", dest, err)
	}
	a.moved.Add(1)
	a.log().Error("corrupt state file quarantined", "kind", kind, "file", path, "moved_to", dest, "reason", reason)
	return e, nil
}

// Moved counts the files this Area set aside since it was made: the
// quarantine counter of the running process.
func (a *Area) Moved() int64 { return a.moved.Load() }

// List returns what is in the quarantine, oldest first. A file without a
// readable note is listed with the reason "no note".
func (a *Area) List() ([]Entry, error) {
	entries, err := os.ReadDir(a.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	var out []Entry
	for _, de := range entries {
		name := de.Name()
		if de.IsDir() || strings.HasSuffix(name, noteSuffix) {
			continue
		}
		file := filepath.Join(a.Dir, name)
		e := Entry{File: file, Reason: "no note (moved here by hand?)"}
		if data, err := os.ReadFile(file + noteSuffix); err == nil {
			if json.Unmarshal(data, &e) != nil {
				e.Reason = "the note is unreadable"
			}
			e.File = file
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func (a *Area) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

func (a *Area) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// StaleTempAge is how old a writer's temporary file must be before
// RemoveStaleTemps takes it for one a crash left behind: no write takes
// anywhere near this long.
const StaleTempAge = time.Hour

// RemoveStaleTemps deletes the ".tmp-*" files in dir older than
// StaleTempAge: a process killed between writing a temporary file and
// renaming it over the record leaves one behind. It returns how many went.
func RemoveStaleTemps(dir string, now time.Time) int {
	paths, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	removed := 0
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && now.Sub(info.ModTime()) > StaleTempAge && os.Remove(p) == nil {
			removed++
		}
	}
	return removed
}
