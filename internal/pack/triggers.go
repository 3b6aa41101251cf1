package pack

import (
	"errors"

	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/timer"
	"github.com/medic-sre/medic/internal/trigger"
)

// KnownTriggerTypes are the trigger types rules may name: the trigger
// package's registry.
func KnownTriggerTypes() []string {
	var names []string
	for _, t := range trigger.Types() {
		names = append(names, t.Name)
	}
	return names
}

// validateTrigger checks a rule's trigger against the trigger package's
// registry: the type exists, its parameters are valid (timers are checked by
// the timer package, exactly as they will be scheduled), and every criteria
// key can exist in the type's payload schema.
func validateTrigger(r *rule.Rule, ps *problems) bool {
	info, ok := trigger.LookupType(r.TriggerType)
	if !ok {
		return false
	}
	switch {
	case timer.IsTimerType(r.TriggerType):
		if _, err := timer.FromRule(r.Ref, r.TriggerType, r.TriggerParameters); err != nil {
			field, reason := "trigger.parameters", err.Error()
			var te *timer.Error
			if errors.As(err, &te) {
				field, reason = te.Field, te.Reason
			}
			ps.add(r.File, r.Line(field), field, "%s", reason)
		}
	case r.TriggerType == trigger.TypeWebhook:
		if u, _ := r.TriggerParameters["url"].(string); u == "" {
			ps.add(r.File, r.Line("trigger"), "trigger.parameters.url", "is required: the webhook path this rule listens on (e.g. deploy)")
		}
	}
	ps.addAll(rule.CheckPayloadKeys(r, info.PayloadSchema, r.TriggerType))
	return true
}
