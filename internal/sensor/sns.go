package sensor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/trigger"
)

// snsNotification is the SNS envelope, both as the "Sns" object of a Lambda
// event record and as the body SNS POSTs to an HTTP(S) subscription.
type snsNotification struct {
	Type      string `json:"Type"`
	MessageID string `json:"MessageId"`
	TopicArn  string `json:"TopicArn"`
	Message   string `json:"Message"`
}

type snsRecord struct {
	EventSource string           `json:"EventSource"`
	Sns         *snsNotification `json:"Sns"`
}

// snsAlarmMessage is the JSON document CloudWatch publishes to SNS.
type snsAlarmMessage struct {
	AlarmName          string  `json:"AlarmName"`
	AlarmDescription   *string `json:"AlarmDescription"`
	AWSAccountID       string  `json:"AWSAccountId"`
	NewStateValue      string  `json:"NewStateValue"`
	NewStateReason     string  `json:"NewStateReason"`
	NewStateReasonData string  `json:"NewStateReasonData"`
	StateChangeTime    string  `json:"StateChangeTime"`
	Region             string  `json:"Region"`
	AlarmArn           string  `json:"AlarmArn"`
	OldStateValue      string  `json:"OldStateValue"`
	AlarmRule          string  `json:"AlarmRule"`
	TriggeringChildren []struct {
		Arn string `json:"Arn"`
	} `json:"TriggeringChildren"`
	Trigger *snsAlarmTrigger `json:"Trigger"`
}

type snsAlarmTrigger struct {
	MetricName         string         `json:"MetricName"`
	Namespace          string         `json:"Namespace"`
	Statistic          string         `json:"Statistic"`
	ExtendedStatistic  string         `json:"ExtendedStatistic"`
	Dimensions         []snsDimension `json:"Dimensions"`
	ComparisonOperator string         `json:"ComparisonOperator"`
	Threshold          *float64       `json:"Threshold"`
	// Metrics is set instead of MetricName for metric math alarms.
	Metrics []struct {
		ReturnData bool `json:"ReturnData"`
		MetricStat *struct {
			Metric struct {
				MetricName string         `json:"MetricName"`
				Namespace  string         `json:"Namespace"`
				Dimensions []snsDimension `json:"Dimensions"`
			} `json:"Metric"`
			Stat string `json:"Stat"`
		} `json:"MetricStat"`
	} `json:"Metrics"`
}

type snsDimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func parseSNSRecords(body []byte, _ Request) ([]trigger.Trigger, error) {
	var ev struct {
		Records []snsRecord `json:"Records"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, decodeErr("", err)
	}
	if len(ev.Records) == 0 {
		return nil, fieldErr("Records", "is empty")
	}
	var out []trigger.Trigger
	for i, r := range ev.Records {
		at := fmt.Sprintf("Records[%d]", i)
		if r.EventSource != "aws:sns" {
			return nil, fieldErr(at+".EventSource", "is %q; only aws:sns records are understood", r.EventSource)
		}
		if r.Sns == nil {
			return nil, fieldErr(at+".Sns", "is missing")
		}
		t, err := snsToTrigger(at+".Sns", r.Sns)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// parseSNSDelivery reads the body SNS POSTs to an HTTP(S) subscription.
func parseSNSDelivery(body []byte, _ Request) ([]trigger.Trigger, error) {
	var n snsNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, decodeErr("", err)
	}
	t, err := snsToTrigger("", &n)
	if err != nil {
		return nil, err
	}
	return []trigger.Trigger{t}, nil
}

func snsToTrigger(at string, n *snsNotification) (trigger.Trigger, error) {
	switch {
	case n.Type == "SubscriptionConfirmation":
		return trigger.Trigger{}, fieldErr(join(at, "Type"), "is SubscriptionConfirmation: confirm the subscription by visiting its SubscribeURL; it carries no alarm")
	case n.Type != "Notification":
		return trigger.Trigger{}, fieldErr(join(at, "Type"), "is %q, want Notification", n.Type)
	case n.MessageID == "":
		return trigger.Trigger{}, fieldErr(join(at, "MessageId"), "is missing: needed to recognise redeliveries")
	}
	if isEventBridgeJSON(n.Message) {
		return snsWrappedEventBridge(join(at, "Message"), n.Message)
	}
	a, err := snsAlarm(join(at, "Message"), n.Message, n.TopicArn)
	if err != nil {
		return trigger.Trigger{}, err
	}
	return a.toTrigger("sns:"+n.MessageID, "sns"), nil
}

// isEventBridgeJSON spots an EventBridge event an EventBridge rule published
// to SNS (rule → SNS topic → Lambda), which then arrives as the Message.
func isEventBridgeJSON(message string) bool {
	var probe envelope
	return json.Unmarshal([]byte(message), &probe) == nil && probe.has("detail-type")
}

// snsWrappedEventBridge keeps the EventBridge id, so the event dedupes
// with the same event delivered to the Lambda directly.
func snsWrappedEventBridge(at, message string) (trigger.Trigger, error) {
	triggers, err := parseEventBridge([]byte(message), Request{})
	var se *Error
	if errors.As(err, &se) {
		return trigger.Trigger{}, fieldErr(join(at, se.Field), "%s", se.Reason)
	}
	if err != nil {
		return trigger.Trigger{}, err
	}
	t := triggers[0]
	t.Source = "sns"
	return t, nil
}

// snsAlarm decodes the Message string; at is its JSON path and topicArn the
// topic it was published to ("" when unknown), a last resort for the region.
func snsAlarm(at, message, topicArn string) (*alarm, error) {
	if !strings.HasPrefix(strings.TrimSpace(message), "{") || !json.Valid([]byte(message)) {
		return nil, fieldErr(at, "is not a JSON object, so not a CloudWatch alarm notification")
	}
	var m snsAlarmMessage
	if err := json.Unmarshal([]byte(message), &m); err != nil {
		return nil, decodeErr(at, err)
	}
	if m.AlarmName == "" || m.NewStateValue == "" {
		return nil, fieldErr(at, "is not a CloudWatch alarm notification (no AlarmName or NewStateValue)")
	}
	t, err := parseAlarmTime(join(at, "StateChangeTime"), m.StateChangeTime)
	if err != nil {
		return nil, err
	}
	a := &alarm{
		account:       m.AWSAccountID,
		name:          m.AlarmName,
		arn:           m.AlarmArn,
		state:         m.NewStateValue,
		previousState: m.OldStateValue,
		reason:        m.NewStateReason,
		reasonData:    m.NewStateReasonData,
		time:          t,
		alarmRule:     m.AlarmRule,
		composite:     m.AlarmRule != "",
	}
	if m.AlarmDescription != nil {
		a.description = *m.AlarmDescription
	}
	if a.region, err = snsRegion(at, m, topicArn); err != nil {
		return nil, err
	}
	for _, c := range m.TriggeringChildren {
		a.children = append(a.children, c.Arn)
	}
	if m.Trigger != nil {
		m.Trigger.fill(a)
	}
	if err := a.check(alarmFields{join(at, "AlarmName"), join(at, "NewStateValue"), join(at, "OldStateValue"), join(at, "Region")}); err != nil {
		return nil, err
	}
	return a, nil
}

// snsRegion maps the display name to a code. An unknown name falls back to
// the region in the alarm ARN, then to the topic's: CloudWatch only notifies
// topics in the alarm's own region, and old notifications carry no AlarmArn.
func snsRegion(at string, m snsAlarmMessage, topicArn string) (string, error) {
	if code, ok := RegionCode(m.Region); ok {
		return code, nil
	}
	if code := regionFromARN(m.AlarmArn); code != "" {
		return code, nil
	}
	if code := regionFromARN(topicArn); code != "" {
		return code, nil
	}
	return "", fieldErr(join(at, "Region"), "is %.40q, not a known AWS region name, and neither AlarmArn nor the topic ARN names a region", m.Region)
}

// parseSNSRaw reads an alarm notification sent with SNS raw message
// delivery: the Message alone, without the envelope. SNS names the delivery
// and the topic in headers (HTTP subscriptions); without them the id is a
// hash of the state change, so a redelivery is still recognised.
func parseSNSRaw(body []byte, in Request) ([]trigger.Trigger, error) {
	a, err := snsAlarm("", string(body), header(in.Headers, "x-amz-sns-topic-arn"))
	if err != nil {
		return nil, err
	}
	id := "sns:" + header(in.Headers, "x-amz-sns-message-id")
	if id == "sns:" {
		id = stableID("sns-raw:", a.account, a.region, a.name, a.state, a.time.Format(time.RFC3339Nano))
	}
	return []trigger.Trigger{a.toTrigger(id, "sns")}, nil
}

// header looks a header up without regard to case.
func header(headers map[string]string, name string) string {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (tr *snsAlarmTrigger) fill(a *alarm) {
	a.threshold = tr.Threshold
	a.comparison = tr.ComparisonOperator
	a.statistic = tr.Statistic
	if tr.ExtendedStatistic != "" {
		a.statistic = tr.ExtendedStatistic
	}
	if tr.MetricName != "" {
		a.metrics = append(a.metrics, metric{
			name: tr.MetricName, namespace: tr.Namespace, dimensions: dimensionMap(tr.Dimensions), returnData: true,
		})
	}
	for _, m := range tr.Metrics {
		if m.MetricStat == nil {
			continue
		}
		a.metrics = append(a.metrics, metric{
			name:       m.MetricStat.Metric.MetricName,
			namespace:  m.MetricStat.Metric.Namespace,
			stat:       m.MetricStat.Stat,
			dimensions: dimensionMap(m.MetricStat.Metric.Dimensions),
			returnData: m.ReturnData,
		})
	}
}

func dimensionMap(dims []snsDimension) map[string]string {
	out := make(map[string]string, len(dims))
	for _, d := range dims {
		out[d.Name] = d.Value
	}
	return out
}
