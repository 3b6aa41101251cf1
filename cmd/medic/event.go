package main

import (
	"fmt"

	"github.com/medic-sre/medic/internal/sensor"
	"github.com/medic-sre/medic/internal/trigger"
)

// parseEvent reads a rule tester event: a trigger instance
// ({"type":..,"payload":{..}}) first, else a raw event as a sensor receives
// it (events/: EventBridge, SNS, Alertmanager, webhooks), which may give
// several triggers (an Alertmanager group holds many alerts).
func parseEvent(path string, data []byte) ([]trigger.Trigger, error) {
	t, instanceErr := parseTriggerInstance(path, data)
	if instanceErr == nil {
		return []trigger.Trigger{t}, nil
	}
	ts, err := sensor.Parse(data, sensor.Request{})
	if err != nil {
		return nil, fmt.Errorf("%w; nor a raw sensor event: %v", instanceErr, err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("%s: the sensor found no trigger in this event", path)
	}
	return ts, nil
}
