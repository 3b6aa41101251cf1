package chatops

import (
	"context"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/slack/verify"
	"github.com/medic-sre/medic/internal/state"
)

// JobPartition is the state partition of jobs done, keyed by the Slack
// signature of their request.
const JobPartition = "chatops-job"

// DoneJobs remembers which jobs were done, so a genuine job sent again
// (a captured payload replayed by whoever may invoke the function) does
// nothing. A job that failed is not marked: Lambda's retry must run it.
type DoneJobs interface {
	Done(ctx context.Context, job Job) (bool, error)
	MarkDone(ctx context.Context, job Job) error
}

// StateJobs is DoneJobs in the state store; a mark lasts as long as a job
// can still pass verify.VerifyJob.
type StateJobs struct{ State state.Store }

func jobKey(job Job) state.Key {
	return state.Key{PK: JobPartition, SK: strings.TrimSpace(job.Signature)}
}

// Done implements DoneJobs.
func (s StateJobs) Done(ctx context.Context, job Job) (bool, error) {
	_, ok, err := s.State.Get(ctx, jobKey(job))
	return ok, err
}

// MarkDone implements DoneJobs.
func (s StateJobs) MarkDone(ctx context.Context, job Job) error {
	_, err := s.State.Put(ctx, state.Item{Key: jobKey(job), ExpiresAt: time.Now().Add(verify.MaxJobAge)}, state.Always())
	return err
}
