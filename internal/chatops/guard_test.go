package chatops

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/chatops/access"
	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/slack/slackfake"
	"github.com/medic-sre/medic/internal/state"
)

// guardedLocal is the Slack app of `medic serve` over an engine with a
// consolidator, as serve composes it.
type guardedLocal struct {
	env
	eng *engine.Engine
}

func newGuardedLocal(t *testing.T) *guardedLocal {
	packs, err := pack.LoadDir("testdata/packs")
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := access.Parse("c.yaml", []byte(grants))
	g := &guardedLocal{env: env{t: t, slack: slackfake.New(t), replies: &replies{}, starter: &fakeStarter{}, state: state.NewMemory(nil)}}
	g.eng = &engine.Engine{Packs: packs, Starter: g.starter, Consolidator: &dispatch.Consolidator{State: g.state}}
	local, err := NewLocal(LocalParts{Secrets: secrets.Slack{BotToken: secrets.New("xoxb-x"), SigningSecret: secrets.New(signingSecret)},
		Config: conf, Packs: packs, Engine: g.eng, Tokens: asl.NewTokenHub(), APIURL: g.slack.Server.GetAPIURL()})
	if err != nil {
		t.Fatal(err)
	}
	g.h = local.Handler
	g.h.Respond = g.replies
	g.srv = httptest.NewServer(g.h.Routes())
	t.Cleanup(g.srv.Close)
	return g
}

func (g *guardedLocal) started() int {
	g.starter.mu.Lock()
	defer g.starter.mu.Unlock()
	return len(g.starter.runs)
}

func TestLocalChatRunRefusedWhileARuleRunHoldsTheTarget(t *testing.T) {
	g := newGuardedLocal(t)
	release, d, err := g.eng.Consolidator.Acquire(context.Background(), dispatch.Config{Rule: "ops.restart_on_alarm"}, "web1")
	if err != nil || !d.Act {
		t.Fatalf("the rule's lease: %+v %v", d, err)
	}
	got := g.command("U_OK", "C_OPS", "restart nginx on web1").text()
	if !strings.Contains(got, "refused: target busy: web1 is being remediated by ops.restart_on_alarm") || !strings.Contains(got, "Nothing was started") {
		t.Fatalf("reply: %s", got)
	}
	if g.started() != 0 {
		t.Fatal("a refused run started")
	}
	release(true)
	if got := g.command("U_OK", "C_OPS", "restart nginx on web1").text(); strings.Contains(got, "refused") || g.started() != 1 {
		t.Fatalf("after the rule run ended: %s", got)
	}
}

func TestLocalFourthChatRunIsRateLimited(t *testing.T) {
	g := newGuardedLocal(t)
	for i := 0; i < 3; i++ {
		g.command("U_OK", "C_OPS", "restart nginx on web1")
		g.starter.mu.Lock()
		id := g.starter.runs[len(g.starter.runs)-1].Rec.ID
		g.starter.mu.Unlock()
		// The run ends: serve's done hook releases its lease, as for rules.
		if err := g.eng.Finished(context.Background(), id, true); err != nil {
			t.Fatal(err)
		}
	}
	got := g.command("U_OK", "C_OPS", "restart nginx on web1").text()
	if !strings.Contains(got, "refused: rate limited: 3 runs on this target in 10m0s (limit 3)") || g.started() != 3 {
		t.Fatalf("4th run: %s (%d started)", got, g.started())
	}
}

func TestLocalOpenBreakerRefusesChatRun(t *testing.T) {
	g := newGuardedLocal(t)
	ctx := context.Background()
	gd := &guard.Guard{State: g.state}
	for i := 0; i < 3; i++ { // the chat runs of ops.restart on web1 failed three times
		l, v, err := gd.Acquire(ctx, "action:ops.restart", "web1", guard.Limits{RatePerTarget: -1})
		if err != nil || !v.OK {
			t.Fatalf("%+v %v", v, err)
		}
		gd.Release(ctx, *l, false)
	}
	got := g.command("U_OK", "C_OPS", "restart nginx on web1").text()
	if !strings.Contains(got, "refused: circuit open until") || g.started() != 0 {
		t.Fatalf("reply: %s (%d started)", got, g.started())
	}
}

// A job run again names the same execution: nothing new starts, even
// without the record of jobs done (which then ignores it altogether).
func TestLocalRetriedJobStartsOnce(t *testing.T) {
	g := newGuardedLocal(t)
	jobs := g.h.Jobs
	g.h.Jobs = nil
	job := signedJob(JobCommand, commandBody("U_OK", "C_OPS", "restart nginx on web1"))
	for i := 0; i < 3; i++ {
		if err := g.h.Do(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	if g.started() != 1 || len(g.replies.all()) != 3 {
		t.Fatalf("%d runs started for one request, %d answers", g.started(), len(g.replies.all()))
	}
	g.h.Jobs = jobs
	job = signedJob(JobCommand, commandBody("U_OK", "C_OPS", "restart app on web2"))
	for i := 0; i < 3; i++ {
		if err := g.h.Do(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	if g.started() != 2 || len(g.replies.all()) != 4 {
		t.Fatalf("a job done was done again: %d started, %d answers", g.started(), len(g.replies.all()))
	}
	for _, r := range g.replies.all() {
		if strings.Contains(r.text(), "refused") {
			t.Fatalf("a retry was refused as its own run: %s", r.text())
		}
	}
}

// A job not signed by Slack, or altered, does nothing at all.
func TestForgedJobIsRefused(t *testing.T) {
	g := newGuardedLocal(t)
	real := signedJob(JobCommand, commandBody("U_OK", "C_OPS", "restart nginx on web1"))
	altered := real
	altered.Body = strings.Replace(real.Body, "nginx", "app", 1)
	for name, job := range map[string]Job{
		"unsigned":  {Kind: JobCommand, Body: real.Body},
		"altered":   altered,
		"bad sig":   {Kind: JobCommand, Body: real.Body, Timestamp: real.Timestamp, Signature: "v0=" + strings.Repeat("0", 64)},
		"old":       signedJobAt(JobCommand, real.Body, time.Now().Add(-7*time.Hour)),
		"other key": {Kind: JobCommand, Body: real.Body, Timestamp: real.Timestamp, Signature: strings.Replace(real.Signature, real.Signature[5:9], "ffff", 1)},
	} {
		if err := g.h.Do(context.Background(), job); err == nil || !strings.Contains(err.Error(), "job refused") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if g.started() != 0 || len(g.replies.all()) != 0 {
		t.Fatalf("a forged job acted: %d started, %d replies", g.started(), len(g.replies.all()))
	}
}
