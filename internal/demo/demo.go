// Package demo plays Medic's self-healing scene on this machine: a scratch
// directory fills up, the CloudWatch alarm for it is posted to a running
// Medic, Medic cleans it up, and an independent check proves the repair.
package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medic-sre/medic/internal/execution"
)

// Scene describes the breakage.
type Scene struct {
	Dir       string // the scratch directory that fills up
	Files     int    // junk files written
	FileBytes int    // size of each
	LimitKiB  int    // what the alarm and the verify step consider healthy
	EventFile string // the alarm event to post (events/local/disk-full-alarm.json)
	// EventID is the delivery id the event is posted with: each scene is a
	// new alarm, while posting the same scene twice is a redelivery.
	EventID string
	// At is when the alarm fires: a CloudWatch alarm's state carries the
	// time of the change, and an alert's status only moves forward in
	// time, so each scene's alarm must be newer than the last scene's OK.
	At time.Time
	// APIToken is sent to read executions back: `medic serve` keeps its
	// read endpoints behind it (the alert itself is posted without, as
	// any sender's).
	APIToken string
	Out      io.Writer
}

// DefaultScene matches packs/linux and events/local/disk-full-alarm.json.
func DefaultScene(repo string, out io.Writer) Scene {
	return Scene{
		Dir:       "/tmp/medic-demo/scratch",
		Files:     16,
		FileBytes: 1 << 20,
		LimitKiB:  4096,
		EventFile: filepath.Join(repo, "events", "local", "disk-full-alarm.json"),
		EventID:   uuid.NewString(),
		At:        time.Now().UTC(),
		Out:       out,
	}
}

// Break fills the directory with old temporary files and one file that must
// survive the cleanup. It only ever adds files: whatever else is in the
// directory stays.
func (s Scene) Break() error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	junk := bytes.Repeat([]byte("x"), s.FileBytes)
	old := time.Now().Add(-2 * time.Hour) // the cleanup only removes files over an hour old
	for i := range s.Files {
		p := filepath.Join(s.Dir, fmt.Sprintf("upload-%02d.tmp", i))
		if err := os.WriteFile(p, junk, 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(p, old, old); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(s.Dir, "keep.log"), []byte("must survive the cleanup\n"), 0o644)
}

// Check is the independent proof: usage under the limit and the file that
// is not temporary still there.
func (s Scene) Check() error {
	used, err := usageKiB(s.Dir)
	if err != nil {
		return err
	}
	if used > s.LimitKiB {
		return fmt.Errorf("%s uses %d KiB, over the %d KiB limit", s.Dir, used, s.LimitKiB)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "keep.log")); err != nil {
		return fmt.Errorf("keep.log was removed: the cleanup went too far")
	}
	return nil
}

func usageKiB(dir string) (int, error) {
	total := int64(0)
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return int((total + 1023) / 1024), err
}

// Event returns the EventBridge alarm event, pointed at this scene's
// directory and carrying the scene's delivery id and time.
func (s Scene) Event() ([]byte, error) {
	event, err := s.event()
	if err != nil {
		return nil, err
	}
	return json.Marshal(event)
}

// Resolved returns the alarm's return to OK at time at: what CloudWatch
// sends once the fix worked. It closes the alert's group, so the next
// scene is a new incident.
func (s Scene) Resolved(at time.Time) ([]byte, error) {
	event, err := s.event()
	if err != nil {
		return nil, err
	}
	detail, _ := event["detail"].(map[string]any)
	alarm, _ := detail["state"].(map[string]any)
	if alarm == nil {
		return nil, fmt.Errorf("%s: detail.state is missing", s.EventFile)
	}
	event["id"] = s.EventID + "-ok"
	event["time"] = at.UTC().Format(time.RFC3339)
	detail["previousState"] = alarm
	detail["state"] = map[string]any{"value": "OK", "reason": "the demo's check passed", "timestamp": alarmTime(at)}
	return json.Marshal(event)
}

func (s Scene) event() (map[string]any, error) {
	raw, err := os.ReadFile(s.EventFile)
	if err != nil {
		return nil, err
	}
	raw = bytes.ReplaceAll(raw, []byte("/tmp/medic-demo/scratch"), []byte(s.Dir))
	var event map[string]any
	if err := json.Unmarshal(raw, &event); err != nil {
		return nil, fmt.Errorf("%s: %w", s.EventFile, err)
	}
	if s.EventID != "" {
		event["id"] = s.EventID
	}
	if !s.At.IsZero() {
		event["time"] = s.At.UTC().Format(time.RFC3339)
		if detail, ok := event["detail"].(map[string]any); ok {
			if st, ok := detail["state"].(map[string]any); ok {
				st["timestamp"] = alarmTime(s.At)
			}
		}
	}
	return event, nil
}

// alarmTime is CloudWatch's format for state timestamps.
func alarmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// Play breaks, alerts the Medic at baseURL, waits for the executions it
// started, and checks the repair.
func (s Scene) Play(baseURL string, timeout time.Duration) error {
	if err := s.Break(); err != nil {
		return fmt.Errorf("breaking the scene: %w", err)
	}
	if err := s.Check(); err == nil {
		return fmt.Errorf("the scene is not broken")
	} else {
		s.say("broken:  %v", err)
	}
	ids, err := s.alert(baseURL, timeout)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := s.waitFor(baseURL, id, timeout)
		if err != nil {
			return err
		}
		if rec.Status != execution.Succeeded {
			return fmt.Errorf("execution %s ended %s: %s %s", id, rec.Status, rec.Error, rec.Cause)
		}
	}
	if err := s.Check(); err != nil {
		return fmt.Errorf("not healed: %w", err)
	}
	used, _ := usageKiB(s.Dir)
	s.say("healed:  %s uses %d KiB (limit %d KiB), keep.log intact", s.Dir, used, s.LimitKiB)
	ok, err := s.Resolved(time.Now())
	if err != nil {
		return err
	}
	s.say("resolve: the alarm returns to OK, closing its incident")
	_, err = post(baseURL, ok)
	return err
}

// outcome is the part of an engine outcome the scene reads.
type outcome struct {
	Rule, Execution, Held, Error string
}

// alert posts the alarm and returns the executions it starts: at once,
// or, when the rule groups alerts, once the group's wait is over.
func (s Scene) alert(baseURL string, timeout time.Duration) ([]string, error) {
	body, err := s.Event()
	if err != nil {
		return nil, err
	}
	s.say("alert:   posting %s", filepath.Base(s.EventFile))
	outcomes, err := post(baseURL, body)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, o := range outcomes {
		switch {
		case o.Error != "":
			return nil, fmt.Errorf("rule %s: %s", o.Rule, o.Error)
		case o.Execution != "":
			ids = append(ids, o.Execution)
		case strings.HasPrefix(o.Held, "grouped into"):
			s.say("held:    %s", o.Held)
			id, err := s.waitForTrigger(baseURL, o.Rule, s.EventID, timeout)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		default:
			return nil, fmt.Errorf("rule %s did not act: %s", o.Rule, o.Held)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no rule matched the alert %s", s.EventFile)
	}
	return ids, nil
}

// post sends one event to Medic and returns the outcomes of its rules.
func post(baseURL string, body []byte) ([]outcome, error) {
	resp, err := http.Post(baseURL+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res struct {
		Triggers []struct{ Outcomes []outcome }
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("event refused: %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, err
	}
	var out []outcome
	for _, t := range res.Triggers {
		out = append(out, t.Outcomes...)
	}
	return out, nil
}

// waitForTrigger finds the execution a group flush started for rule with
// the alert delivered as triggerID.
func (s Scene) waitForTrigger(baseURL, rule, triggerID string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		var recs []execution.Record
		if err := s.get(baseURL+"/v1/executions", &recs); err != nil {
			return "", err
		}
		for _, r := range recs {
			if r.Rule == rule && r.Trigger.ID == triggerID {
				return r.ID, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("rule %s started nothing for alert %s within %s", rule, triggerID, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s Scene) waitFor(baseURL, id string, timeout time.Duration) (*execution.Record, error) {
	deadline := time.Now().Add(timeout)
	for {
		var rec execution.Record
		if err := s.get(baseURL+"/v1/executions/"+url.PathEscape(id), &rec); err != nil {
			return nil, fmt.Errorf("execution %s: %w", id, err)
		}
		if rec.Status.Done() {
			return &rec, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("execution %s still %s after %s", id, rec.Status, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get reads one of Medic's read endpoints, with the API token, into v.
func (s Scene) get(target string, v any) error {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (s Scene) say(format string, args ...any) {
	if s.Out != nil {
		fmt.Fprintf(s.Out, "demo "+format+"\n", args...)
	}
}
