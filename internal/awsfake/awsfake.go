// Package awsfake is an in-process AWS service for adapter tests: an
// httptest server speaking the AWS JSON protocol (JSON 1.0 and 1.1: POST /,
// X-Amz-Target "<prefix>.<Operation>", error bodies carrying __type) that
// dispatches each operation to a Go handler, counts calls, and injects
// throttling and server errors ahead of real answers. Real aws-sdk-go-v2
// clients talk to it through Config, so tests exercise the SDK's
// serialisation, error mapping and retries, not a mock of them.
package awsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Protocols: the target prefix and JSON version of the services we fake.
var (
	SSM           = Protocol{Target: "AmazonSSM", JSONVersion: "1.1"}
	StepFunctions = Protocol{Target: "AWSStepFunctions", JSONVersion: "1.0"}
)

// Protocol names a JSON-protocol service: requests carry X-Amz-Target
// "<Target>.<Operation>" and Content-Type application/x-amz-json-<JSONVersion>.
type Protocol struct{ Target, JSONVersion string }

func (p Protocol) contentType() string { return "application/x-amz-json-" + p.JSONVersion }

// Handler answers one operation: in is the decoded request body; the
// result is encoded as the response body. Returning an *Error answers with
// that AWS error; any other error is a 500 InternalFailure.
type Handler func(in map[string]any) (any, error)

// Error is an AWS error response: HTTP status and the __type the SDK maps
// to a typed error (e.g. "ThrottlingException", "InvocationDoesNotExist",
// "com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists").
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

// Throttling is the error SDK retryers treat as a throttle.
func Throttling() *Error {
	return &Error{Status: http.StatusBadRequest, Type: "ThrottlingException", Message: "Rate exceeded"}
}

// InternalError is a retryable server-side failure.
func InternalError() *Error {
	return &Error{Status: http.StatusInternalServerError, Type: "InternalServerError", Message: "try again"}
}

// Server is a fake service. Handlers may be added at any time.
type Server struct {
	*httptest.Server
	proto Protocol

	mu       sync.Mutex
	handlers map[string]Handler
	calls    map[string]int
	faults   []*Error
	last     map[string]map[string]any
}

// New starts a fake for proto, closed when the test ends.
func New(t testing.TB, proto Protocol) *Server {
	s := &Server{proto: proto, handlers: map[string]Handler{}, calls: map[string]int{}, last: map[string]map[string]any{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Handle sets the handler of an operation (e.g. "SendCommand").
func (s *Server) Handle(op string, h Handler) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[op] = h
	return s
}

// Fail answers the next calls, whatever their operation, with errs in
// order before handlers see any call again: throttling and 5xx injection.
func (s *Server) Fail(errs ...*Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, errs...)
}

// Calls counts the requests an operation received, failed ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Last is the body of the operation's latest request (nil if none).
func (s *Server) Last(op string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[op]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), s.proto.Target+".")
	if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != s.proto.contentType() {
		s.writeError(w, &Error{Status: http.StatusBadRequest, Type: "UnknownOperationException",
			Message: fmt.Sprintf("not a %s JSON %s request: %s %s", s.proto.Target, s.proto.JSONVersion, r.Method, r.Header.Get("X-Amz-Target"))})
		return
	}
	in := map[string]any{}
	if raw, _ := io.ReadAll(r.Body); len(raw) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			s.writeError(w, &Error{Status: http.StatusBadRequest, Type: "SerializationException", Message: err.Error()})
			return
		}
	}
	s.mu.Lock()
	s.calls[op]++
	s.last[op] = in
	var fault *Error
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	h := s.handlers[op]
	s.mu.Unlock()
	switch {
	case fault != nil:
		s.writeError(w, fault)
	case h == nil:
		s.writeError(w, &Error{Status: http.StatusBadRequest, Type: "UnknownOperationException", Message: "no handler for " + op})
	default:
		s.answer(w, h, in)
	}
}

func (s *Server) answer(w http.ResponseWriter, h Handler, in map[string]any) {
	out, err := h(in)
	var aerr *Error
	switch {
	case errors.As(err, &aerr):
		s.writeError(w, aerr)
		return
	case err != nil:
		s.writeError(w, &Error{Status: http.StatusInternalServerError, Type: "InternalFailure", Message: err.Error()})
		return
	}
	if out == nil {
		out = map[string]any{}
	}
	w.Header().Set("Content-Type", s.proto.contentType())
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", s.proto.contentType())
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
}

// Config is an SDK configuration for this server: static credentials, a
// fixed region, and the standard retryer (5 attempts) with millisecond
// backoff and no client-side rate limit, so retries take no real time.
// Use it as ssm.NewFromConfig(srv.Config()).
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "SECRETFAKE", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 5
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}
