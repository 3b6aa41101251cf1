package action

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/shell"
)

// RunnerHTTP is st2's http-request runner: the http-request state machine
// invokes the medic-http function (package httpfn) with the request.
const RunnerHTTP = "http-request"

// MachineHTTPRequest is the state machine the http-request runner uses.
const MachineHTTPRequest = "http-request"

var httpMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// httpPlan checks the request where it is cheap to say what is wrong (the
// function checks again: it may be invoked by other machines) and hands it
// to the machine. Secret parameters stay in the request, since the call
// needs them, but are masked in the notification.
func httpPlan(a *pack.Action, params map[string]any, s Settings) (Plan, error) {
	raw, _ := params["url"].(string)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Plan{}, fmt.Errorf("action %s: parameter url %q: want an absolute http(s) URL", a.Ref, raw)
	}
	method := strings.ToUpper(shell.Text(params["method"]))
	if method == "" {
		method = "GET"
	}
	if !httpMethods[method] {
		return Plan{}, fmt.Errorf("action %s: parameter method %q is not an HTTP method", a.Ref, method)
	}
	req := map[string]any{
		"url":             raw,
		"method":          method,
		"timeout_seconds": intParam(params, "timeout", 60),
	}
	if h, ok := params["headers"].(map[string]any); ok {
		req["headers"] = h
	}
	if b, ok := params["body"]; ok && b != nil {
		req["body"] = shell.Text(b)
	}
	return Plan{StateMachine: MachineHTTPRequest, Input: map[string]any{
		"request": req,
		// The notification shows where, not the credentials or the query
		// (which may carry tokens).
		"notify": map[string]any{"action": a.Ref, "url": u.Scheme + "://" + u.Host + u.Path, "method": method},
	}}, nil
}
