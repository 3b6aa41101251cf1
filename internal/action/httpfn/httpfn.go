// Package httpfn is the medic-http function: it performs the HTTP request of
// an st2 http-request action. In AWS it is a Lambda the http-request state
// machine invokes (lambda:invoke on ${HttpFunctionArn}); locally the same
// Handler.Invoke is registered as the in-process function "medic-http".
package httpfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// FunctionName is the local name of the function.
const FunctionName = "medic-http"

// MaxBody is how much of a response body is returned: Step Functions
// payloads are limited to 256 KiB, and a remediation step only needs the
// start of an answer.
const MaxBody = 64 * 1024

// MaxTimeout bounds a request's timeout_seconds.
const MaxTimeout = 300 * time.Second

// Request is the payload the state machine sends.
type Request struct {
	URL            string            `json:"url"`
	Method         string            `json:"method"`
	Headers        map[string]string `json:"headers"`
	Body           string            `json:"body"`
	TimeoutSeconds float64           `json:"timeout_seconds"`
}

// Response is what the function returns; the machine decides success from
// status_code.
type Response struct {
	StatusCode int               `json:"status_code"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	Truncated  bool              `json:"truncated"`
	ElapsedMS  int64             `json:"elapsed_ms"`
}

// Handler performs requests with Client (nil: http.DefaultClient).
type Handler struct {
	Client *http.Client
}

// Invoke has the signature of a local function (localtask.Function) and of
// a Lambda handler taking a JSON payload.
func (h *Handler) Invoke(ctx context.Context, payload any) (any, error) {
	req, err := decode(payload)
	if err != nil {
		return nil, err
	}
	resp, err := h.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	// Return plain JSON values, as a Lambda payload would arrive.
	raw, _ := json.Marshal(resp)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out, nil
}

func decode(payload any) (Request, error) {
	var req Request
	raw, err := json.Marshal(payload)
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		return req, fmt.Errorf("medic-http: invalid payload: %w", err)
	}
	return req, nil
}

// Do performs one request. Transport failures are errors (the machine
// retries or fails on them); any HTTP status is a response.
func (h *Handler) Do(ctx context.Context, r Request) (*Response, error) {
	timeout := time.Duration(r.TimeoutSeconds * float64(time.Second))
	if timeout <= 0 || timeout > MaxTimeout {
		timeout = MaxTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpReq, err := build(ctx, r)
	if err != nil {
		return nil, err
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := client.Do(httpReq)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the full URL, query included
		}
		return nil, fmt.Errorf("medic-http: %s %s: %w", httpReq.Method, redact(httpReq.URL), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("medic-http: reading response of %s: %w", redact(httpReq.URL), err)
	}
	out := &Response{StatusCode: resp.StatusCode, Headers: map[string]string{}, ElapsedMS: time.Since(start).Milliseconds()}
	if len(body) > MaxBody {
		body, out.Truncated = body[:MaxBody], true
	}
	out.Body = strings.ToValidUTF8(string(body), string(utf8.RuneError))
	for k := range resp.Header {
		out.Headers[k] = resp.Header.Get(k)
	}
	return out, nil
}

func build(ctx context.Context, r Request) (*http.Request, error) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("medic-http: url %q: want an absolute http(s) URL", r.URL)
	}
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("medic-http: %w", err)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	return req, nil
}

// redact drops credentials and the query (which may hold tokens) from a
// URL before it is logged or returned in an error.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}
