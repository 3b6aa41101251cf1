package chatops

import (
	"context"
	"net/url"
	"testing"
)

// FuzzDo feeds arbitrary signed bodies to the job half of the handler:
// it may answer with an error message but must never panic.
func FuzzDo(f *testing.F) {
	f.Add(JobCommand, commandBody("U_OK", "C_OPS", "restart nginx on web1"))
	f.Add(JobCommand, commandBody("U_OK", "C_OPS", "silence add a=b for 1h x"))
	f.Add(JobCommand, "text=%ZZ")
	f.Add(JobInteraction, url.Values{"payload": {`{"type":"block_actions","actions":[{"block_id":"b","action_id":"medic_approve","value":"{\"t\":\"x\"}"}]}`}}.Encode())
	f.Add(JobInteraction, "payload=[")
	f.Add("other", "")
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, kind, body string) {
		_ = e.h.Do(context.Background(), signedJob(kind, body))
	})
}
