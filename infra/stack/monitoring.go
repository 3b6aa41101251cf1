package stack

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/medic-sre/medic/internal/metrics"
)

// The metrics Medic's functions emit with the CloudWatch embedded metric
// format, in namespace "Medic", without dimensions, unit Count: the names
// internal/metrics writes.
const (
	AlertsReceived        = metrics.AlertsReceived
	AlertsDeduplicated    = metrics.AlertsDeduplicated
	RemediationsStarted   = metrics.RemediationsStarted
	RemediationsSucceeded = metrics.RemediationsSucceeded
	RemediationsFailed    = metrics.RemediationsFailed
	Escalations           = metrics.Escalations
	EventsRejected        = metrics.EventsRejected
)

// period is the aggregation window of every alarm and graph.
var period = awscdk.Duration_Minutes(jsii.Number(5))

func medicMetric(name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String(name),
		Statistic: jsii.String("Sum"), Period: period, // no Label: an alarm on a labelled metric becomes metric math
	})
}

// addMonitoring: alarms that tell people Medic needs attention (to the ops
// topic, optionally mailed) and one dashboard of alert and remediation flow.
func (m *Medic) addMonitoring() {
	if email := m.plan.Config.OpsEmail; email != "" {
		m.OpsTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	var alarms []awscloudwatch.IAlarm
	alarm := func(id, name, description string, metric awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(m.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(m.name(name)), // the prefix keeps them out of Medic's own intake
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(m.OpsTopic))
		alarms = append(alarms, a)
	}
	alarm("RemediationsFailedAlarm", "remediations-failed", "A remediation did not heal its target", medicMetric(RemediationsFailed))
	alarm("EscalationsAlarm", "escalations", "Medic asked a human to step in", medicMetric(Escalations))
	// A refused delivery is kept in the table (pk "rejected"); someone
	// should look: a misconfigured sender, or somebody probing ingest.
	alarm("EventsRejectedAlarm", "events-rejected", "The ingest function refused deliveries (kept in the state table as pk=rejected)",
		medicMetric(EventsRejected))
	alarm("DeadLettersAlarm", "dead-letters", "Alerts or invocations Medic could not process are waiting in the dead-letter queue",
		m.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))

	var failed, errors, stopped []awscloudwatch.IMetric
	for _, w := range m.plan.Workflows {
		sm, opts := m.StateMachines[w.Name], &awscloudwatch.MetricOptions{Period: period}
		metric := sm.MetricFailed(opts)
		alarm(pascal(w.Name)+"FailedAlarm", w.Name+"-executions-failed", "Executions of "+w.Name+" failed", metric)
		failed = append(failed, metric)
		// A timed-out execution waited past its limit (often an approval
		// nobody answered); an aborted one was stopped by hand or by
		// chatops. Neither counts as failed, and both leave a target unhealed.
		timedOut := sm.MetricTimedOut(opts)
		alarm(pascal(w.Name)+"TimedOutAlarm", w.Name+"-executions-timed-out", "Executions of "+w.Name+" timed out", timedOut)
		aborted := sm.MetricAborted(opts)
		alarm(pascal(w.Name)+"AbortedAlarm", w.Name+"-executions-aborted", "Executions of "+w.Name+" were aborted", aborted)
		stopped = append(stopped, timedOut, aborted)
	}
	for _, name := range m.functionNames() {
		fn := m.Functions[name]
		metric := fn.MetricErrors(&awscloudwatch.MetricOptions{Period: period})
		alarm(pascal(name)+"ErrorsAlarm", name+"-errors", "The "+name+" function returned errors", metric)
		alarm(pascal(name)+"ThrottlesAlarm", name+"-throttles", "The "+name+" function was throttled",
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: period}))
		errors = append(errors, metric)
	}
	m.addDashboard(alarms, failed, stopped, errors)
}

func (m *Medic) functionNames() []string {
	names := make([]string, 0, len(m.Functions))
	for n := range m.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (m *Medic) addDashboard(alarms []awscloudwatch.IAlarm, failed, stopped, errors []awscloudwatch.IMetric) {
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	rows := []*[]awscloudwatch.IWidget{
		{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
			Markdown: jsii.String("# Medic\nAlerts in, what was deduplicated, remediations and escalations " +
				"(namespace `Medic`, emitted by the functions), workflows that failed, timed out or were aborted, " +
				"function errors and dead letters."),
			Width: jsii.Number(24), Height: jsii.Number(2),
		})},
		{
			graph("Alerts", medicMetric(AlertsReceived), medicMetric(AlertsDeduplicated)),
			graph("Remediations", medicMetric(RemediationsStarted), medicMetric(RemediationsSucceeded), medicMetric(RemediationsFailed)),
			graph("Escalations", medicMetric(Escalations)),
		},
		{
			graph("Workflow executions failed", failed...),
			graph("Workflow executions timed out or aborted", stopped...),
			graph("Function errors", errors...),
		},
		{graph("Dead letters", m.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))},
		{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title: jsii.String("Medic alarms"), Alarms: &alarms, Width: jsii.Number(24),
		})},
	}
	awscloudwatch.NewDashboard(m.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(*m.StackName()),
		Widgets:       &rows,
	})
}
