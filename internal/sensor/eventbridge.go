package sensor

import (
	"encoding/json"

	"github.com/medic-sre/medic/internal/trigger"
)

// The EventBridge "CloudWatch Alarm State Change" event and the alarm's
// direct Lambda action share the alarm detail below (detail / alarmData).

const (
	cloudWatchSource     = "aws.cloudwatch"
	alarmStateChangeType = "CloudWatch Alarm State Change"
)

type eventBridgeEvent struct {
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	// Detail is decoded only once source and detail-type say it is an
	// alarm, so other events are refused for what they are.
	Detail json.RawMessage `json:"detail"`
}

type alarmActionEvent struct {
	Source    string       `json:"source"`
	AlarmArn  string       `json:"alarmArn"`
	AccountID string       `json:"accountId"`
	Time      string       `json:"time"`
	Region    string       `json:"region"`
	AlarmData *alarmDetail `json:"alarmData"`
}

type alarmDetail struct {
	AlarmName     string      `json:"alarmName"`
	State         *alarmState `json:"state"`
	PreviousState *alarmState `json:"previousState"`
	Configuration struct {
		Description string        `json:"description"`
		AlarmRule   string        `json:"alarmRule"`
		Metrics     []alarmMetric `json:"metrics"`
	} `json:"configuration"`
}

type alarmState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData"`
	Timestamp  string `json:"timestamp"`
}

type alarmMetric struct {
	ID         string `json:"id"`
	Expression string `json:"expression"`
	ReturnData bool   `json:"returnData"`
	MetricStat *struct {
		Metric struct {
			Name       string            `json:"name"`
			Namespace  string            `json:"namespace"`
			Dimensions map[string]string `json:"dimensions"`
		} `json:"metric"`
		Stat string `json:"stat"`
	} `json:"metricStat"`
}

func parseEventBridge(body []byte, _ Request) ([]trigger.Trigger, error) {
	var ev eventBridgeEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, decodeErr("", err)
	}
	switch {
	case ev.Source != cloudWatchSource:
		return nil, fieldErr("source", "is %q; only %q events are alerts Medic understands", ev.Source, cloudWatchSource)
	case ev.DetailType != alarmStateChangeType:
		return nil, fieldErr("detail-type", "is %q, want %q", ev.DetailType, alarmStateChangeType)
	case ev.ID == "":
		return nil, fieldErr("id", "is missing: needed to recognise redeliveries")
	case ev.Detail == nil:
		return nil, fieldErr("detail", "is missing")
	}
	var detail alarmDetail
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		return nil, decodeErr("detail", err)
	}
	a, err := detail.toAlarm("detail")
	if err != nil {
		return nil, err
	}
	a.account, a.region = ev.Account, ev.Region
	if len(ev.Resources) > 0 {
		a.arn = ev.Resources[0]
	}
	if err := a.check(alarmFields{"detail.alarmName", "detail.state.value", "detail.previousState.value", "region"}); err != nil {
		return nil, err
	}
	return []trigger.Trigger{a.toTrigger("eventbridge:"+ev.ID, "eventbridge")}, nil
}

func parseAlarmAction(body []byte, _ Request) ([]trigger.Trigger, error) {
	var ev alarmActionEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, decodeErr("", err)
	}
	switch {
	case ev.Source != cloudWatchSource:
		return nil, fieldErr("source", "is %q, want %q for an alarm action", ev.Source, cloudWatchSource)
	case ev.AlarmArn == "":
		return nil, fieldErr("alarmArn", "is missing")
	case ev.AlarmData == nil:
		return nil, fieldErr("alarmData", "is null")
	}
	a, err := ev.AlarmData.toAlarm("alarmData")
	if err != nil {
		return nil, err
	}
	a.account, a.region, a.arn = ev.AccountID, ev.Region, ev.AlarmArn
	if a.region == "" {
		a.region = regionFromARN(ev.AlarmArn)
	}
	if err := a.check(alarmFields{"alarmData.alarmName", "alarmData.state.value", "alarmData.previousState.value", "region"}); err != nil {
		return nil, err
	}
	// The action payload has no delivery id; a retried invoke repeats the
	// same alarm ARN, state and state time, so their hash serves as one.
	id := stableID("alarm-action:", a.arn, a.state, a.time.Format("2006-01-02T15:04:05.000Z"))
	return []trigger.Trigger{a.toTrigger(id, "lambda-action")}, nil
}

// toAlarm reads the shared detail; at is its JSON path, for errors.
func (d *alarmDetail) toAlarm(at string) (*alarm, error) {
	if d.State == nil {
		return nil, fieldErr(at+".state", "is missing")
	}
	t, err := parseAlarmTime(at+".state.timestamp", d.State.Timestamp)
	if err != nil {
		return nil, err
	}
	a := &alarm{
		name:        d.AlarmName,
		description: d.Configuration.Description,
		state:       d.State.Value,
		reason:      d.State.Reason,
		reasonData:  d.State.ReasonData,
		time:        t,
		alarmRule:   d.Configuration.AlarmRule,
		composite:   d.Configuration.AlarmRule != "",
	}
	if d.PreviousState != nil {
		a.previousState = d.PreviousState.Value
	}
	for _, m := range d.Configuration.Metrics {
		if m.MetricStat == nil {
			continue // a metric math expression: no metric of its own
		}
		a.metrics = append(a.metrics, metric{
			name:       m.MetricStat.Metric.Name,
			namespace:  m.MetricStat.Metric.Namespace,
			stat:       m.MetricStat.Stat,
			dimensions: m.MetricStat.Metric.Dimensions,
			returnData: m.ReturnData,
		})
	}
	if a.composite {
		a.children = compositeChildren(a.reasonData)
	} else {
		a.threshold = reasonThreshold(a.reasonData)
	}
	return a, nil
}
