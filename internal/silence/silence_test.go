package silence

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/statetest"
)

func matchers(t *testing.T, ss ...string) alert.Matchers {
	t.Helper()
	ms, err := alert.ParseMatchers(ss)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestAddMatchExpire(t *testing.T) {
	clock := statetest.NewClock()
	st := &Store{State: state.NewMemory(clock.Now), Now: clock.Now}
	ctx := context.Background()
	s, err := st.Add(ctx, Silence{Matchers: matchers(t, "alertname=disk-full", `InstanceId=~"i-0a.*"`),
		EndsAt: clock.Now().Add(time.Hour), CreatedBy: "ana", Comment: "resizing volume"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || !s.StartsAt.Equal(clock.Now()) {
		t.Fatalf("added %+v", s)
	}
	hit := map[string]string{"alertname": "disk-full", "InstanceId": "i-0abc"}
	miss := map[string]string{"alertname": "disk-full", "InstanceId": "i-0bcd"}
	if got, _ := st.Match(ctx, hit); got == nil || got.ID != s.ID {
		t.Fatalf("match = %v, want silence %s", got, s.ID)
	}
	if got, _ := st.Match(ctx, miss); got != nil {
		t.Fatalf("unmatched labels silenced by %s", got.ID)
	}
	clock.Advance(10 * time.Minute)
	if _, err := st.Expire(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Match(ctx, hit); got != nil {
		t.Fatal("expired silence still mutes")
	}
	list, _ := st.List(ctx)
	if len(list) != 1 || list[0].State(clock.Now()) != "expired" || list[0].CreatedBy != "ana" {
		t.Fatalf("list after expire = %+v", list)
	}
	if _, err := st.Expire(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expire unknown: %v", err)
	}
	// Purged by TTL a day after its end.
	clock.Advance(Retention)
	if list, _ := st.List(ctx); len(list) != 0 {
		t.Fatalf("expired silence not purged: %+v", list)
	}
}

func TestPendingAndNaturalExpiry(t *testing.T) {
	clock := statetest.NewClock()
	st := &Store{State: state.NewMemory(clock.Now), Now: clock.Now}
	ctx := context.Background()
	_, err := st.Add(ctx, Silence{Matchers: matchers(t, "env=prod"), StartsAt: clock.Now().Add(time.Hour),
		EndsAt: clock.Now().Add(2 * time.Hour), CreatedBy: "bo", Comment: "maintenance window"})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"env": "prod"}
	for _, step := range []struct {
		advance time.Duration
		muted   bool
	}{{0, false}, {time.Hour, true}, {time.Hour, false}} {
		clock.Advance(step.advance)
		if got, _ := st.Match(ctx, labels); (got != nil) != step.muted {
			t.Errorf("at +%s muted = %v, want %v", step.advance, got != nil, step.muted)
		}
	}
}

func TestValidation(t *testing.T) {
	clock := statetest.NewClock()
	st := &Store{State: state.NewMemory(clock.Now), Now: clock.Now}
	end := clock.Now().Add(time.Hour)
	cases := map[string]Silence{
		"at least one is required": {EndsAt: end, CreatedBy: "a", Comment: "c"},
		"would also match":         {Matchers: matchers(t, "team=~.*"), EndsAt: end, CreatedBy: "a", Comment: "c"},
		"created_by":               {Matchers: matchers(t, "a=b"), EndsAt: end, Comment: "c"},
		"comment":                  {Matchers: matchers(t, "a=b"), EndsAt: end, CreatedBy: "a"},
		"is not after":             {Matchers: matchers(t, "a=b"), EndsAt: clock.Now().Add(-time.Hour), CreatedBy: "a", Comment: "c"},
	}
	for want, s := range cases {
		if _, err := st.Add(context.Background(), s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}
