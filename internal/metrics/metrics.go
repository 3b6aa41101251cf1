// Package metrics counts what Medic does for its own dashboard and alarms:
// alerts in, deduplicated, remediations started, succeeded and failed,
// escalations. In Lambda the counts are CloudWatch embedded metric format
// (EMF) lines on stdout, which CloudWatch Logs turns into metrics without
// an API call; infra/stack graphs and alarms on the same names.
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is where Medic's metrics live.
const Namespace = "Medic"

// The metric names; each counts events (unit Count), without dimensions.
const (
	AlertsReceived        = "AlertsReceived"
	AlertsDeduplicated    = "AlertsDeduplicated"
	RemediationsStarted   = "RemediationsStarted"
	RemediationsSucceeded = "RemediationsSucceeded"
	RemediationsFailed    = "RemediationsFailed"
	Escalations           = "Escalations"
	// EventsRejected counts deliveries the ingest function refused as
	// malformed (each is kept as a rejected record), retries included.
	EventsRejected = "EventsRejected"
)

// Counter is what the engine counts with.
type Counter interface {
	Add(name string, n int)
}

// Discard counts nothing (the local composition, tests).
type Discard struct{}

// Add implements Counter.
func (Discard) Add(string, int) {}

// EMF writes one embedded-metric-format line per count.
type EMF struct {
	Namespace string // default Namespace
	Out       io.Writer
	Now       func() time.Time

	mu sync.Mutex
}

// Add implements Counter.
func (e *EMF) Add(name string, n int) {
	line, err := e.line(name, n)
	if err != nil {
		return // a name that cannot be encoded is a bug caught by the tests
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Out.Write(line)
}

func (e *EMF) line(name string, n int) ([]byte, error) {
	ns := e.Namespace
	if ns == "" {
		ns = Namespace
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  ns,
				"Dimensions": [][]string{{}},
				"Metrics":    []any{map[string]any{"Name": name, "Unit": "Count"}},
			}},
		},
		name: n,
	}
	b, err := json.Marshal(doc)
	return append(b, '\n'), err
}
