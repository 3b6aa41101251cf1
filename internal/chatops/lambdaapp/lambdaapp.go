// Package lambdaapp runs the chatops Handler as a Lambda behind a function
// URL. One function receives three kinds of invocation:
//
//   - a function URL request from Slack (slash command, button click):
//     verified and acknowledged at once, the work handed to
//   - an asynchronous invocation of itself carrying the job
//     ({"medic_chatops_job": ...}), which does the work and answers through
//     the response_url, because a Lambda is frozen once it has responded;
//   - Step Functions' lambda:invoke.waitForTaskToken approval requests
//     ({"token", "execution", "action", ...}), which post the buttons;
//   - EventBridge's "Step Functions Execution Status Change" events, which
//     update the execution's thread with its outcome and post its alias's
//     result format.
package lambdaapp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/execution"
	"github.com/medic-sre/medic/internal/slack/notify"
)

// App is the Lambda entry point.
type App struct {
	Handler   *chatops.Handler
	Approvals *chatops.Approvals
	// Executions and Notifier handle status-change events (optional).
	Executions chatops.ExecutionReader
	Notifier   *notify.Notifier
	routes     http.Handler
}

// New wraps a handler whose Dispatch should be a SelfDispatcher.
func New(h *chatops.Handler, a *chatops.Approvals) *App {
	return &App{Handler: h, Approvals: a, routes: h.Routes()}
}

// shape tells the kinds of invocation apart by their fields.
type shape struct {
	Job       string          `json:"medic_chatops_job"`
	Token     string          `json:"token"`
	Execution string          `json:"execution"`
	RawPath   string          `json:"rawPath"`
	Context   json.RawMessage `json:"requestContext"`
	Detail    struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"detail"`
	DetailType string `json:"detail-type"`
}

// StatusChange is the EventBridge detail-type of execution ends.
const StatusChange = "Step Functions Execution Status Change"

// Invoke handles one invocation of any of the three kinds.
func (a *App) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var s shape
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("chatops lambda: event is not a JSON object: %w", err)
	}
	switch {
	case s.Job != "":
		var job chatops.Job
		if err := json.Unmarshal(raw, &job); err != nil {
			return nil, err
		}
		return nil, a.Handler.Do(ctx, job)
	case s.DetailType == StatusChange:
		return nil, a.statusChanged(s.Detail.Name, s.Detail.Status)
	case s.Token != "" && s.Execution != "":
		var payload any
		json.Unmarshal(raw, &payload)
		return a.Approvals.Request(ctx, payload)
	case s.RawPath != "" || s.Context != nil:
		var req events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		return a.ServeURL(ctx, req)
	}
	return nil, fmt.Errorf("chatops lambda: unknown event shape (want a function URL request, a chatops job or an approval request)")
}

// statusChanged finishes an execution's thread: the parent shows the
// outcome and, for chat runs, the alias's result format is replied.
func (a *App) statusChanged(name, status string) error {
	if a.Executions == nil || a.Notifier == nil || !execution.Status(status).Done() {
		return nil
	}
	if _, ok := a.Notifier.Thread(name); !ok {
		return nil // Medic never posted about it: nothing to update
	}
	rec, err := a.Executions.Get(name)
	if err != nil {
		return fmt.Errorf("chatops lambda: status change of %s: %w", name, err)
	}
	a.Notifier.OnDone(rec)
	return nil
}

// ServeURL runs a function URL request through the HTTP routes.
func (a *App) ServeURL(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest, Body: "body is not base64"}, nil
		}
		body = b
	}
	method := req.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodPost
	}
	target := req.RawPath
	if req.RawQueryString != "" {
		target += "?" + req.RawQueryString
	}
	hr, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest, Body: err.Error()}, nil
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.routes.ServeHTTP(rec, hr)
	headers := map[string]string{}
	for k, v := range rec.Header() {
		headers[k] = strings.Join(v, ", ")
	}
	return events.LambdaFunctionURLResponse{StatusCode: rec.Code, Headers: headers, Body: rec.Body.String()}, nil
}

// InvokeAPI is the part of the Lambda client SelfDispatcher uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// SelfDispatcher hands a job to an asynchronous invocation of the function
// itself (AWS_LAMBDA_FUNCTION_NAME), so the acknowledgement returns within
// Slack's 3 seconds and the work still runs to completion.
type SelfDispatcher struct {
	API          InvokeAPI
	FunctionName string
}

// Dispatch implements chatops.Dispatcher.
func (d SelfDispatcher) Dispatch(ctx context.Context, job chatops.Job) error {
	payload, err := json.Marshal(job)
	if err != nil {
		return err
	}
	_, err = d.API.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(d.FunctionName),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoking %s asynchronously: %w", d.FunctionName, err)
	}
	return nil
}
