package main

import "github.com/medic-sre/medic/internal/trigger"

// parseEvent reads a rule tester event. Raw sensor events (events/) are
// accepted once internal/sensor exists; until then only trigger instances.
func parseEvent(path string, data []byte) (trigger.Trigger, error) {
	return parseTriggerInstance(path, data)
}
