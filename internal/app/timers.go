package app

import (
	"context"

	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/timer"
	"github.com/medic-sre/medic/internal/trigger"
)

// Timers builds the in-process scheduler for every enabled rule whose
// trigger is a timer (st2 IntervalTimer / CronTimer); each firing goes
// through the engine like any other trigger. In AWS, EventBridge Scheduler
// plays this part.
func Timers(rules []*rule.Rule, clock timer.Clock, emit func(trigger.Trigger)) (*timer.Scheduler, error) {
	sched := timer.NewScheduler(clock, emit)
	for _, r := range rules {
		if !r.Enabled || !timer.IsTimerType(r.TriggerType) {
			continue
		}
		t, err := timer.FromRule(r.Ref, r.TriggerType, r.TriggerParameters)
		if err != nil {
			return nil, err
		}
		if err := sched.Add(t); err != nil {
			return nil, err
		}
	}
	return sched, nil
}

// RunTimers runs the scheduler for the local composition until ctx ends.
func (l *Local) RunTimers(ctx context.Context) error {
	sched, err := Timers(l.Packs.Rules(), timer.RealClock{}, func(t trigger.Trigger) { l.Engine.Handle(ctx, t) })
	if err != nil {
		return err
	}
	return sched.Run(ctx)
}
