package localtask

import (
	"fmt"
	"time"

	"github.com/medic-sre/medic/internal/localrun"
)

// The answers below carry every field SSM's GetCommandInvocation and
// ListCommandInvocations responses carry, in every status, with SSM's empty
// values ("" for strings not known yet, -1 for a ResponseCode not known
// yet): a workflow that reads $.StandardErrorContent while a command still
// runs must find "" there, as in AWS, not fail with States.Runtime.

// pluginName is the one plugin of AWS-RunShellScript.
const pluginName = "aws:runShellScript"

// stoppedExitCode is the ResponseCode the SSM agent reports on Linux for a
// command it killed (timeout or cancel): 128 + SIGKILL.
const stoppedExitCode = 137

// maxPluginOutput is where SSM truncates a plugin's Output in
// ListCommandInvocations with Details.
const maxPluginOutput = 2500

// ssmTime is how SSM (and Step Functions, for timestamps of aws-sdk
// results) writes a time: ISO 8601 in UTC with milliseconds.
func ssmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// invocationState is one invocation as SSM reports it at a moment.
type invocationState struct {
	status, details string
	responseCode    int
	stdout, stderr  string
	start, end      time.Time // zero: not started / not ended
	elapsed         time.Duration
}

// state reads an invocation at now; the caller holds SSM.mu.
func (inv *invocation) state(now time.Time) invocationState {
	select {
	case <-inv.done:
		return finishedState(inv.result)
	default:
	}
	st := invocationState{status: "Pending", details: "Pending", responseCode: -1}
	if !inv.started.IsZero() {
		st.status, st.details = "InProgress", "InProgress"
		st.start, st.elapsed = inv.started, now.Sub(inv.started)
	}
	if inv.cancelled {
		st.status, st.details = "Cancelling", "Cancelling"
	}
	return st
}

// finishedState maps a local result to SSM's terminal statuses.
func finishedState(r localrun.Result) invocationState {
	st := invocationState{
		status: r.Status, details: r.Status, responseCode: r.ExitCode,
		stdout: r.Stdout, stderr: r.Stderr, start: r.Start, end: r.End, elapsed: r.End.Sub(r.Start),
	}
	switch r.Status {
	case localrun.StatusTimedOut:
		st.details, st.responseCode = "ExecutionTimedOut", stoppedExitCode
	case localrun.StatusCancelled:
		st.responseCode = stoppedExitCode
	}
	return st
}

// invocationResult is GetCommandInvocation's answer; the caller holds SSM.mu.
func (c *command) invocationResult(target string, now time.Time) map[string]any {
	st := c.invs[target].state(now)
	return map[string]any{
		"CommandId":              c.id,
		"InstanceId":             target,
		"Comment":                c.comment,
		"DocumentName":           c.document,
		"DocumentVersion":        c.documentVersion,
		"PluginName":             pluginName,
		"ResponseCode":           float64(st.responseCode),
		"ExecutionStartDateTime": timeOrEmpty(st.start),
		"ExecutionElapsedTime":   elapsedOrEmpty(st),
		"ExecutionEndDateTime":   timeOrEmpty(st.end),
		"Status":                 st.status,
		"StatusDetails":          st.details,
		"StandardOutputContent":  st.stdout,
		"StandardOutputUrl":      "",
		"StandardErrorContent":   st.stderr,
		"StandardErrorUrl":       "",
		"CloudWatchOutputConfig": c.cloudWatchConfig(),
	}
}

// listedInvocation is one CommandInvocation of ListCommandInvocations: no
// output or ResponseCode at this level; with details, its one plugin
// carries them. The caller holds SSM.mu.
func (c *command) listedInvocation(target string, details bool) map[string]any {
	st := c.invs[target].state(time.Now())
	plugins := []any{}
	if details {
		plugins = append(plugins, pluginResult(st))
	}
	return map[string]any{
		"CommandId":         c.id,
		"InstanceId":        target,
		"InstanceName":      "",
		"Comment":           c.comment,
		"DocumentName":      c.document,
		"DocumentVersion":   c.documentVersion,
		"RequestedDateTime": ssmTime(c.requested),
		"Status":            st.status,
		"StatusDetails":     st.details,
		"TraceOutput":       "",
		"StandardOutputUrl": "",
		"StandardErrorUrl":  "",
		"CommandPlugins":    plugins,
		"ServiceRole":       "",
		"NotificationConfig": map[string]any{
			"NotificationArn": "", "NotificationEvents": []any{}, "NotificationType": "",
		},
		"CloudWatchOutputConfig": c.cloudWatchConfig(),
	}
}

// pluginResult is a CommandPlugin: its Output is the standard output then
// the standard error, cut at SSM's 2,500 characters.
func pluginResult(st invocationState) map[string]any {
	output := st.stdout + st.stderr
	if len(output) > maxPluginOutput {
		output = output[:maxPluginOutput]
	}
	p := map[string]any{
		"Name": pluginName, "Status": st.status, "StatusDetails": st.details,
		"ResponseCode": float64(st.responseCode), "Output": output,
		"StandardOutputUrl": "", "StandardErrorUrl": "",
		"OutputS3Region": "", "OutputS3BucketName": "", "OutputS3KeyPrefix": "",
	}
	// Timestamps SSM does not know yet are absent, not empty.
	if !st.start.IsZero() {
		p["ResponseStartDateTime"] = ssmTime(st.start)
	}
	if !st.end.IsZero() {
		p["ResponseFinishDateTime"] = ssmTime(st.end)
	}
	return p
}

func (c *command) cloudWatchConfig() map[string]any {
	return map[string]any{"CloudWatchLogGroupName": c.cloudWatch["CloudWatchLogGroupName"], "CloudWatchOutputEnabled": c.cloudWatch["CloudWatchOutputEnabled"]}
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ssmTime(t)
}

func elapsedOrEmpty(st invocationState) string {
	if st.start.IsZero() {
		return ""
	}
	return isoDuration(st.elapsed)
}

// isoDuration writes d as SSM's ExecutionElapsedTime does: an ISO 8601
// duration with milliseconds, e.g. PT0.091S, PT2M3.5S, PT1H0.25S.
func isoDuration(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d < 0 {
		d = 0
	}
	s := "PT"
	if h := d / time.Hour; h > 0 {
		s += fmt.Sprintf("%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		s += fmt.Sprintf("%dM", m)
		d -= m * time.Minute
	}
	if d == 0 && s != "PT" {
		return s
	}
	secs := fmt.Sprintf("%.3f", d.Seconds())
	for secs[len(secs)-1] == '0' {
		secs = secs[:len(secs)-1]
	}
	if secs[len(secs)-1] == '.' {
		secs = secs[:len(secs)-1]
	}
	return s + secs + "S"
}
