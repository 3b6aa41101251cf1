package app

import (
	"context"
	"time"
)

// FlushEvery is how often `medic serve` runs the groups' timers; in AWS
// EventBridge Scheduler sends dispatch.FlushEvent every minute.
const FlushEvery = 2 * time.Second

// sweepEvery removes expired state files (DynamoDB's TTL does it in AWS).
const sweepEvery = time.Hour

// RunConsolidation runs group flushes every FlushEvery and sweeps expired
// state hourly, until ctx ends.
func (l *Local) RunConsolidation(ctx context.Context) error {
	flush := time.NewTicker(FlushEvery)
	defer flush.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-flush.C:
			if _, err := l.Engine.Flush(ctx); err != nil {
				l.Engine.Log.Error("consolidation flush", "err", err)
			}
		case <-sweep.C:
			if err := l.State.Sweep(); err != nil {
				l.Engine.Log.Error("sweeping expired state", "err", err)
			}
		}
	}
}
