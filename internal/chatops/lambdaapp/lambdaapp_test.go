package lambdaapp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/chatops"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/slack/verify"
)

const secret = "lambda-signing-secret"

type fakeInvoke struct {
	mu    sync.Mutex
	calls []*lambda.InvokeInput
}

func (f *fakeInvoke) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	return &lambda.InvokeOutput{StatusCode: 202}, nil
}

type recorder struct {
	msgs []*slack.WebhookMessage
	// failures makes that many answers fail, as a response_url that is
	// down does: the job errs and Lambda retries it.
	failures int
}

func (r *recorder) Respond(_ context.Context, _ string, m *slack.WebhookMessage) error {
	if r.failures > 0 {
		r.failures--
		return errors.New("response_url: 503 Service Unavailable")
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func newApp(t *testing.T) (*App, *fakeInvoke, *recorder, *slackfake.Fake) {
	packs, err := pack.LoadDir("../testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := access.Parse("c.yaml", []byte("channel: C1\napprove:\n  - actions: ['*']\n    users: ['*']\n"))
	v, _ := verify.New(secret, 0, nil)
	fake := slackfake.New(t)
	inv, rec := &fakeInvoke{}, &recorder{}
	approvals := &chatops.Approvals{API: fake.Client(), Channel: "C1", Access: conf}
	h := &chatops.Handler{Verifier: v, Access: conf, Packs: packs, Approvals: approvals, Respond: rec,
		Dispatch: SelfDispatcher{API: inv, FunctionName: "medic-chatops"}}
	return New(h, approvals), inv, rec, fake
}

func urlEvent(body string, sign bool) json.RawMessage {
	ts := time.Now().Unix()
	sig := "v0=bad"
	if sign {
		sig = verify.Sign(secret, ts, []byte(body))
	}
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/slack/commands",
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded",
			"x-slack-request-timestamp": strconv.FormatInt(ts, 10), "x-slack-signature": sig},
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}},
		Body:           base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
	}
	b, _ := json.Marshal(ev)
	return b
}

func TestCommandIsAckedThenDoneByAnAsyncSelfInvocation(t *testing.T) {
	app, inv, rec, _ := newApp(t)
	body := url.Values{"command": {"/medic"}, "text": {"help"}, "user_id": {"U1"}, "channel_id": {"C1"}, "response_url": {"https://hooks.slack.test/x"}}.Encode()
	out, err := app.Invoke(context.Background(), urlEvent(body, true))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.LambdaFunctionURLResponse)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "On it") {
		t.Fatalf("ack = %+v", resp)
	}
	if len(inv.calls) != 1 || aws.ToString(inv.calls[0].FunctionName) != "medic-chatops" || inv.calls[0].InvocationType != "Event" {
		t.Fatalf("invocations = %+v", inv.calls)
	}
	if len(rec.msgs) != 0 {
		t.Fatal("work done before the async invocation")
	}
	if _, err := app.Invoke(context.Background(), inv.calls[0].Payload); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 1 || !strings.Contains(rec.msgs[0].Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text, "restart {{service}}") {
		t.Fatalf("answer = %+v", rec.msgs)
	}
	// A forged request is refused with 401 and never dispatched.
	out, _ = app.Invoke(context.Background(), urlEvent(body, false))
	if out.(events.LambdaFunctionURLResponse).StatusCode != 401 || len(inv.calls) != 1 {
		t.Fatalf("forged: %+v, %d invocations", out, len(inv.calls))
	}
}

func TestApprovalRequestFromStepFunctions(t *testing.T) {
	app, _, _, fake := newApp(t)
	out, err := app.Invoke(context.Background(), json.RawMessage(`{"token":"tok","execution":"ex1","action":"ops.restart","approvers":["U1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if out.(map[string]any)["requested"] != true || len(fake.Messages()) != 1 || !strings.Contains(fake.Messages()[0].Blocks, "medic_approve") {
		t.Fatalf("out = %v, messages = %+v", out, fake.Messages())
	}
	if _, err := app.Invoke(context.Background(), json.RawMessage(`{"hello":1}`)); err == nil || !strings.Contains(err.Error(), "unknown event shape") {
		t.Fatalf("unknown shape: %v", err)
	}
	if _, err := app.Invoke(context.Background(), json.RawMessage(`[1]`)); err == nil {
		t.Fatal("array accepted")
	}
}
