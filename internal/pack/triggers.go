package pack

import (
	"fmt"
	"slices"
	"strings"

	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

// triggerParamChecks validate `trigger.parameters` of the trigger types that
// take parameters, with StackStorm's parameter names.
var triggerParamChecks = map[string]func(map[string]any) []string{
	trigger.TypeIntervalTimer: checkIntervalTimer,
	trigger.TypeCronTimer:     checkCronTimer,
	trigger.TypeWebhook:       checkWebhook,
}

var intervalUnits = []string{"weeks", "days", "hours", "minutes", "seconds"}

func checkIntervalTimer(p map[string]any) []string {
	var errs []string
	for k := range p {
		if k != "unit" && k != "delta" {
			errs = append(errs, fmt.Sprintf("%s: unknown parameter (want unit, delta)", k))
		}
	}
	if u, _ := p["unit"].(string); !slices.Contains(intervalUnits, u) {
		errs = append(errs, fmt.Sprintf("unit: must be one of %s", strings.Join(intervalUnits, ", ")))
	}
	if d, err := castInteger(p["delta"]); err != nil || d.(int) <= 0 {
		errs = append(errs, "delta: must be a positive integer")
	}
	return errs
}

var cronFields = []string{"timezone", "year", "month", "day", "week", "day_of_week", "hour", "minute", "second"}

func checkCronTimer(p map[string]any) []string {
	var errs []string
	for k := range p {
		if !slices.Contains(cronFields, k) {
			errs = append(errs, fmt.Sprintf("%s: unknown parameter (want %s)", k, strings.Join(cronFields, ", ")))
		}
	}
	if len(p) == 0 || (len(p) == 1 && p["timezone"] != nil) {
		errs = append(errs, "needs at least one schedule field (e.g. minute: 0, hour: '*/6')")
	}
	return errs
}

func checkWebhook(p map[string]any) []string {
	if u, _ := p["url"].(string); u == "" {
		return []string{"url: is required (the webhook path, e.g. alerts)"}
	}
	return nil
}

func validateTriggerParams(r *rule.Rule, ps *problems) {
	check, ok := triggerParamChecks[r.TriggerType]
	if !ok {
		return
	}
	errs := check(r.TriggerParameters)
	slices.Sort(errs)
	for _, e := range errs {
		ps.add(r.File, r.Line("trigger.parameters"), "trigger.parameters", "%s", e)
	}
}
