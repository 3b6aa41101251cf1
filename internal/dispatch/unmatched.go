package dispatch

import (
	"context"
	"fmt"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/trigger"
)

// MustObserveUnmatched reports whether a delivery that matched no rule
// must still be observed (recorded), so the engine writes nothing for the
// rest: in a storm most deliveries match nothing, and each Observe is a
// delivery claim, a counter and often a record (files locally).
//
// Recorded anyway are the deliveries whose state another decision reads:
//   - a resolution, always (OK events usually match no rule): it closes
//     the groups the alert joined and ends the inhibition it causes, and,
//     when its alert is not known yet, it still must be recorded so that
//     a firing delivery arriving after it (out of order, or the sender's
//     retry of one Medic answered 503) is recognised as late and does not
//     reopen the incident;
//   - an alert Medic already knows (a repeat keeps its count and flap
//     history whole);
//   - a firing alert that is the source of an inhibit rule (it mutes
//     others though no rule acts on it);
//   - an alert whose payload does not parse (Observe reports the error,
//     so the sender retries rather than the delivery being dropped).
//
// Not recorded: timers and webhooks (nothing reads their state when no
// rule acted), and a new firing (or insufficient-data) alert that is no
// inhibit source. Such an alert does not
// appear in `medic alerts` until a delivery of it is recorded; a
// redelivery of it is not recognised as one, which is harmless because it
// acts on nothing either. The one read (the alert record) is a point read.
func (c *Consolidator) MustObserveUnmatched(ctx context.Context, t trigger.Trigger) (bool, error) {
	if !alert.IsAlert(t) {
		return false, nil
	}
	a, err := alert.FromTrigger(t)
	if err != nil {
		return true, nil
	}
	if a.Status == alert.Resolved || a.Status == alert.Firing && c.isInhibitSource(a.Labels) {
		return true, nil
	}
	if c.State == nil {
		return true, nil // Observe reports the missing store
	}
	_, known, err := c.State.Get(ctx, alertKey(a.Fingerprint))
	if err != nil {
		return true, fmt.Errorf("consolidate: alert %s: %w", a.Fingerprint, err)
	}
	return known, nil
}
