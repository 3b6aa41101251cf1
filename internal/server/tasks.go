package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/localtask"
)

// TaskTokens resumes executions waiting in a .waitForTaskToken step: the
// local SendTaskSuccess / SendTaskFailure. *asl.TokenHub implements it.
type TaskTokens interface {
	Success(token string, output any) error
	Failure(token, errName, cause string) error
	Waiting() []string
}

// WaitingTask is a task the HTTP endpoints may complete, and what it is.
type WaitingTask struct {
	Token     string `json:"token"`
	Execution string `json:"execution"`
	State     string `json:"state"`
	// Approval is set when the task asks a human (the approval function):
	// completing it is an approval decision, held to the approve grants.
	Approval *chatops.ApprovalRequest `json:"approval,omitempty"`
}

// TaskBoard knows what each waiting token is for. It learns it from the
// task request itself (Watch), before the resource is invoked, so an
// approval can never be completed as if it were a plain callback; a
// token it has not seen cannot be completed over HTTP at all.
type TaskBoard struct {
	Tokens TaskTokens

	mu    sync.Mutex
	tasks map[string]WaitingTask
}

// NewTaskBoard returns a board over the hub that holds the tokens.
func NewTaskBoard(tokens TaskTokens) *TaskBoard {
	return &TaskBoard{Tokens: tokens, tasks: map[string]WaitingTask{}}
}

// Watch wraps the task handler of the executions whose tokens the board
// serves: every .waitForTaskToken task is recorded, then run.
func (b *TaskBoard) Watch(next asl.TaskHandler) asl.TaskHandler {
	return asl.TaskHandlerFunc(func(ctx context.Context, req asl.TaskRequest) (any, error) {
		if req.TaskToken != "" {
			b.record(describe(req))
		}
		return next.Invoke(ctx, req)
	})
}

// describe reads what a waiting task is from its request.
func describe(req asl.TaskRequest) WaitingTask {
	t := WaitingTask{Token: req.TaskToken, State: req.StateName}
	if ex, ok := req.Context["Execution"].(map[string]any); ok {
		t.Execution, _ = ex["Name"].(string)
	}
	var in struct {
		FunctionName string
		Payload      json.RawMessage
	}
	raw, _ := json.Marshal(req.Input)
	_ = json.Unmarshal(raw, &in)
	name := in.FunctionName[strings.LastIndex(in.FunctionName, ":")+1:]
	if req.Resource == localtask.ResourceLambdaInvokeWait && name == chatops.ApprovalFunction {
		// An approval even when its payload does not decode: it is then
		// refused over HTTP (no action to hold the grants to), never
		// completed as a callback.
		var ask chatops.ApprovalRequest
		_ = json.Unmarshal(in.Payload, &ask)
		t.Approval = &ask
	}
	return t
}

func (b *TaskBoard) record(t WaitingTask) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune()
	b.tasks[t.Token] = t
}

// prune forgets tasks no longer waiting (answered in Slack, timed out,
// execution ended). The caller holds b.mu.
func (b *TaskBoard) prune() {
	waiting := b.Tokens.Waiting()
	for token := range b.tasks {
		if _, found := slices.BinarySearch(waiting, token); !found {
			delete(b.tasks, token)
		}
	}
}

// Waiting lists the tasks waiting now, by token.
func (b *TaskBoard) Waiting() []WaitingTask {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune()
	out := make([]WaitingTask, 0, len(b.tasks))
	for _, t := range b.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Token < out[j].Token })
	return out
}

func (b *TaskBoard) lookup(token string) (WaitingTask, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tasks[token]
	return t, ok
}

func (b *TaskBoard) forget(token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tasks, token)
}

// ApprovalGrants decides whether someone may approve or reject an approval
// request: *chatops.Approvals, the check Slack's buttons get.
type ApprovalGrants interface {
	Allowed(ctx context.Context, req chatops.ApprovalRequest, who access.Who) error
}

// LocalOperator is who approves over HTTP when there is no chatops
// config: whoever holds the API token.
const LocalOperator = "local-operator"

// UserHeader names the person deciding an approval over HTTP.
const UserHeader = "X-Medic-User"

// maxTaskBody bounds a task completion's body.
const maxTaskBody = 256 << 10

// taskRoutes serves, behind the API token,
//
//	GET  /v1/tasks                     tasks waiting (approvals marked)
//	POST /v1/tasks/{token}/success     body: the task output (JSON); approvals: {"user","comment"}
//	POST /v1/tasks/{token}/failure     body: {"error": "...", "cause": "..."}; approvals: {"user","comment"}
func (s *Server) taskRoutes(mux *http.ServeMux) {
	mux.Handle("GET /v1/tasks", s.authorisedFunc(func(w http.ResponseWriter, _ *http.Request) {
		tasks := s.Tasks.Waiting()
		tokens := make([]string, len(tasks))
		for i, t := range tasks {
			tokens[i] = t.Token
		}
		writeJSON(w, http.StatusOK, map[string]any{"waiting": tokens, "tasks": tasks})
	}))
	mux.Handle("POST /v1/tasks/{token}/{outcome}", s.authorisedFunc(s.resumeTask))
}

var errNoSuchTask = errors.New("no task is waiting for that token (already completed, timed out, or never issued)")

func (s *Server) resumeTask(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTaskBody))
	if err != nil {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Errorf("task body over %d KiB", maxTaskBody>>10))
		return
	}
	outcome := r.PathValue("outcome")
	if outcome != "success" && outcome != "failure" {
		s.fail(w, http.StatusNotFound, errors.New("outcome: want success or failure"))
		return
	}
	task, ok := s.Tasks.lookup(r.PathValue("token"))
	if !ok {
		s.fail(w, http.StatusNotFound, errNoSuchTask)
		return
	}
	if task.Approval != nil {
		s.decideApproval(w, r, task, outcome == "success", raw)
		return
	}
	s.completeCallback(w, task, outcome == "success", raw)
}

// completeCallback answers a task that is not an approval: the body is the
// task's output, or its error and cause.
func (s *Server) completeCallback(w http.ResponseWriter, task WaitingTask, success bool, raw []byte) {
	var err error
	if success {
		var output any = map[string]any{}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &output); err != nil {
				s.fail(w, http.StatusBadRequest, fmt.Errorf("task output is not JSON: %w", err))
				return
			}
		}
		err = s.Tasks.Tokens.Success(task.Token, output)
	} else {
		var f struct{ Error, Cause string }
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &f); err != nil {
				s.fail(w, http.StatusBadRequest, fmt.Errorf("failure body: want {\"error\",\"cause\"}: %w", err))
				return
			}
		}
		err = s.Tasks.Tokens.Failure(task.Token, f.Error, f.Cause)
	}
	s.answered(w, task, outcomeName(success), nil, err)
}

// decideApproval holds an approval to the same grants as a Slack button,
// then resumes it with the same decision a click records.
func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request, task WaitingTask, approve bool, raw []byte) {
	var body struct {
		User    string `json:"user"`
		Comment string `json:"comment"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			s.fail(w, http.StatusBadRequest, fmt.Errorf(`approval body: want {"user": "...", "comment": "..."}: %w`, err))
			return
		}
	}
	user, err := approver(r.Header.Values(UserHeader), body.User)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err)
		return
	}
	if len(body.Comment) > maxComment {
		s.fail(w, http.StatusBadRequest, fmt.Errorf("comment: %d bytes, at most %d", len(body.Comment), maxComment))
		return
	}
	user, err = s.mayDecide(r.Context(), *task.Approval, user)
	if err != nil {
		s.log().Info("approval over HTTP refused", "execution", task.Execution, "user", user, "reason", err.Error())
		s.fail(w, http.StatusForbidden, err)
		return
	}
	d := chatops.Decision{Approved: approve, Decision: "rejected", By: user, Channel: "api", At: time.Now().UTC(),
		Comment: body.Comment, Execution: task.Approval.Execution, Action: task.Approval.Action}
	if approve {
		d.Decision = "approved"
		err = s.Tasks.Tokens.Success(task.Token, d)
	} else {
		cause, _ := json.Marshal(d)
		err = s.Tasks.Tokens.Failure(task.Token, chatops.ErrRejected, string(cause))
	}
	if err == nil {
		s.log().Info("approval decided over HTTP", "execution", d.Execution, "action", d.Action, "decision", d.Decision, "by", d.By)
	}
	s.answered(w, task, outcomeName(approve), &d, err)
}

// mayDecide returns who the decision is recorded as, or why user may not
// decide. Without grants only the local operator (the API token's holder)
// decides; with grants the caller must name a person they allow. Grants
// limited to channels never match here: an HTTP request is in no channel.
func (s *Server) mayDecide(ctx context.Context, req chatops.ApprovalRequest, user string) (string, error) {
	if req.Action == "" || req.Execution == "" {
		return user, errors.New("the approval request names no action or execution, so no grant can cover it; answer it in Slack or let it time out")
	}
	if s.Approvers == nil {
		if user != "" && user != LocalOperator {
			return user, fmt.Errorf("there is no chatops config, so approvals over HTTP are the local operator's: leave %s out (or say %s)", UserHeader, LocalOperator)
		}
		return LocalOperator, nil
	}
	if user == "" {
		return user, fmt.Errorf("name who decides with the %s header or \"user\" in the body; the approve grants of chatops.yaml must allow them", UserHeader)
	}
	return user, s.Approvers.Allowed(ctx, req, access.Who{User: user})
}

// userPattern is what a user name may look like: Slack IDs (U…, W…) and
// plain names, nothing that could forge a mention or a log line.
var userPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

const maxComment = 2000

// approver is the user the caller names, from the header or the body; the
// two must agree when both are given.
func approver(header []string, inBody string) (string, error) {
	if len(header) > 1 {
		return "", fmt.Errorf("%s given %d times: give it once", UserHeader, len(header))
	}
	user := inBody
	if len(header) == 1 && header[0] != "" {
		if inBody != "" && inBody != header[0] {
			return "", fmt.Errorf("%s and the body's \"user\" name different people", UserHeader)
		}
		user = header[0]
	}
	if user != "" && !userPattern.MatchString(user) {
		return "", fmt.Errorf("user: want a Slack user ID or a name of letters, digits and . _ @ - (at most 64)")
	}
	return user, nil
}

func outcomeName(success bool) string {
	if success {
		return "success"
	}
	return "failure"
}

// answered reports the completion, or that the task stopped waiting in
// the meantime.
func (s *Server) answered(w http.ResponseWriter, task WaitingTask, outcome string, d *chatops.Decision, err error) {
	if err != nil {
		s.fail(w, http.StatusNotFound, errNoSuchTask)
		return
	}
	s.Tasks.forget(task.Token)
	res := map[string]any{"token": task.Token, "execution": task.Execution, "outcome": outcome}
	if d != nil {
		res["decision"] = d
	}
	writeJSON(w, http.StatusOK, res)
}
