package localtask

import (
	"testing"
	"time"
)

// Pending lasts locally only until the command's goroutine starts, too
// short to catch from outside; its shape is checked on the state itself.
func TestPendingInvocationShape(t *testing.T) {
	c := &command{id: "c-1", document: "AWS-RunShellScript", cloudWatch: map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
		targets: []string{"localhost"}, invs: map[string]*invocation{"localhost": {done: make(chan struct{})}}}
	inv := c.invocationResult("localhost", time.Now())
	for k, want := range map[string]any{
		"Status": "Pending", "StatusDetails": "Pending", "ResponseCode": -1.0, "ExecutionStartDateTime": "",
		"ExecutionElapsedTime": "", "ExecutionEndDateTime": "", "StandardOutputContent": "", "StandardErrorContent": "",
	} {
		if inv[k] != want {
			t.Errorf("%s = %#v, want %#v", k, inv[k], want)
		}
	}
	listed := c.listedInvocation("localhost", true)
	plugin := listed["CommandPlugins"].([]any)[0].(map[string]any)
	if _, has := plugin["ResponseStartDateTime"]; has || plugin["ResponseCode"] != -1.0 || listed["Status"] != "Pending" {
		t.Errorf("listed %v", listed)
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "PT0S", 91 * time.Millisecond: "PT0.091S", 2500 * time.Millisecond: "PT2.5S",
		123*time.Second + 500*time.Millisecond: "PT2M3.5S", time.Hour + 250*time.Millisecond: "PT1H0.25S",
		2 * time.Hour: "PT2H", 90 * time.Minute: "PT1H30M", -time.Second: "PT0S",
	} {
		if got := isoDuration(d); got != want {
			t.Errorf("isoDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
