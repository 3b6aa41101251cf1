package ingest

import (
	"context"
	"encoding/json"
	"fmt"
)

// statusChange is the part of Step Functions' "Execution Status Change"
// EventBridge event that tells consolidation a remediation ended.
type statusChange struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"detail"`
}

const (
	statesSource       = "aws.states"
	statusChangeDetail = "Step Functions Execution Status Change"
)

// parseStatusChange recognises the event; ok is false for any other shape.
func parseStatusChange(body []byte) (statusChange, bool, error) {
	var sc statusChange
	if json.Unmarshal(body, &sc) != nil || sc.Source != statesSource || sc.DetailType != statusChangeDetail {
		return sc, false, nil
	}
	if sc.Detail.Name == "" || sc.Detail.Status == "" {
		return sc, true, fmt.Errorf("%s event: detail.name and detail.status are required", statusChangeDetail)
	}
	return sc, true, nil
}

// ended reports whether the status is terminal, and whether it is a
// success. An abort counts against the breaker like a failure: the fix did
// not complete.
func ended(status string) (done, succeeded bool) {
	switch status {
	case "SUCCEEDED":
		return true, true
	case "FAILED", "TIMED_OUT", "ABORTED":
		return true, false
	}
	return false, false
}

// finished releases the target of an ended execution.
func (h *Handler) finished(ctx context.Context, sc statusChange) (Response, error) {
	done, ok := ended(sc.Detail.Status)
	if !done {
		return Response{}, nil
	}
	if err := h.engine.Finished(ctx, sc.Detail.Name, ok); err != nil {
		return Response{}, fmt.Errorf("execution %s ended %s: %w", sc.Detail.Name, sc.Detail.Status, err)
	}
	h.log.Info("execution ended", "execution", sc.Detail.Name, "status", sc.Detail.Status)
	return Response{Finished: sc.Detail.Name}, nil
}

// flush runs the groups' timers. Failed starts were given back to their
// groups, which the next tick retries, so only a failure to read the state
// is an error.
func (h *Handler) flush(ctx context.Context) (Response, error) {
	outcomes, err := h.engine.Flush(ctx)
	return Response{Flushed: outcomes}, err
}
