// Package poll is the wait between two polls of an AWS API, shared by the
// adapters that poll (SSM invocations, Step Functions executions).
package poll

import (
	"context"
	"time"
)

// DefaultInterval is used when an adapter sets no interval.
const DefaultInterval = 2 * time.Second

// Sleep waits d (DefaultInterval when d <= 0), through custom when set so
// tests take no real time, and returns early with ctx's error when it ends.
func Sleep(ctx context.Context, d time.Duration, custom func(context.Context, time.Duration) error) error {
	if d <= 0 {
		d = DefaultInterval
	}
	if custom != nil {
		return custom(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
