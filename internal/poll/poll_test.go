package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepDefaultsAndCustom(t *testing.T) {
	var got time.Duration
	custom := func(_ context.Context, d time.Duration) error { got = d; return nil }
	if err := Sleep(context.Background(), 0, custom); err != nil || got != DefaultInterval {
		t.Fatalf("default: %v %v", got, err)
	}
	if err := Sleep(context.Background(), time.Second, custom); err != nil || got != time.Second {
		t.Fatalf("given: %v %v", got, err)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
