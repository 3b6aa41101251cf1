package action

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/action/httpfn"
	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/pack"
)

func httpAction() *pack.Action { return &pack.Action{Ref: "core.http", RunnerType: RunnerHTTP} }

func TestHTTPRequestRunsThroughMedicHTTP(t *testing.T) {
	var got struct{ method, body, auth string }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.body, got.auth = r.Method, string(b), r.Header.Get("Authorization")
		if r.URL.Path == "/broken" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"restarted":true}`)
	}))
	defer srv.Close()
	h := newHarness(t)
	h.tasks.Functions[httpfn.FunctionName] = (&httpfn.Handler{}).Invoke

	plan, err := Build(httpAction(), map[string]any{
		"url": srv.URL + "/restart", "method": "post", "body": map[string]any{"service": "nginx"},
		"headers": map[string]any{"Authorization": "Bearer t"},
	}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.run(plan)
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.body != `{"service":"nginx"}` || got.auth != "Bearer t" {
		t.Fatalf("server saw %+v", got)
	}
	if resp := out["response"].(map[string]any); resp["status_code"] != 200.0 || resp["body"] != `{"restarted":true}` {
		t.Fatalf("output %v", out)
	}

	plan, _ = Build(httpAction(), map[string]any{"url": srv.URL + "/broken"}, Settings{})
	_, err = h.run(plan)
	var aerr *asl.Error
	if !errors.As(err, &aerr) || aerr.Name != "Medic.HTTPError" {
		t.Fatalf("want Medic.HTTPError, got %v", err)
	}
	if n := h.lastNotice(); n["ok"] != false || n["response"].(map[string]any)["status_code"] != 503.0 {
		t.Fatalf("notice %v", n)
	}
}

func TestHTTPPlanRefusesBadRequests(t *testing.T) {
	for _, params := range []map[string]any{
		{"url": "file:///etc/passwd"},
		{"url": "not a url"},
		{"url": "http://x", "method": "BREW"},
	} {
		if _, err := Build(httpAction(), params, Settings{}); err == nil || !strings.Contains(err.Error(), "core.http") {
			t.Errorf("%v: got %v", params, err)
		}
	}
}
