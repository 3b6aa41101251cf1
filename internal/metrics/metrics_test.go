package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// The line follows the EMF specification: a root `_aws` object with a
// millisecond Timestamp and one CloudWatchMetrics directive naming the
// namespace, an empty dimension set and the metric, and the value at the
// root under the metric's name.
func TestEMFLineIsTheDocumentedShape(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e := &EMF{Namespace: "MedicTest", Out: &out, Now: func() time.Time { return at }}
	e.Add(RemediationsStarted, 2)
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Value int `json:"RemediationsStarted"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	d := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != at.UnixMilli() || len(d) != 1 || d[0].Namespace != "MedicTest" ||
		len(d[0].Dimensions) != 1 || len(d[0].Dimensions[0]) != 0 ||
		len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != RemediationsStarted || d[0].Metrics[0].Unit != "Count" || doc.Value != 2 {
		t.Fatalf("line %s", out.String())
	}
}

func TestEMFLinesDoNotInterleave(t *testing.T) {
	var out bytes.Buffer
	e := &EMF{Out: &out}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); e.Add(AlertsReceived, 1) }()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) || !strings.Contains(l, `"Namespace":"Medic"`) {
			t.Fatalf("bad line %q", l)
		}
	}
}
