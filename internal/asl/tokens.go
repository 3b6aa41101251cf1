package asl

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
)

// TokenHub connects .waitForTaskToken tasks with whoever completes them
// (a Slack approval button, a test, `medic` callbacks): a waiting task
// blocks until Success or Failure is called with its token, its timeout or
// heartbeat expires, or the execution ends.
type TokenHub struct {
	mu      sync.Mutex
	waiting map[string]*tokenWait
}

type tokenWait struct {
	result    chan tokenResult // capacity 1: the one answer
	heartbeat chan struct{}    // capacity 1: heartbeats coalesce
}

type tokenResult struct {
	output any
	err    *Error
}

// NewTokenHub returns an empty hub; share one between executions and the
// code that answers their tokens.
func NewTokenHub() *TokenHub { return &TokenHub{waiting: map[string]*tokenWait{}} }

// newToken registers a fresh token before the task runs, so an answer that
// arrives while the task is still being invoked is not lost.
func (h *TokenHub) newToken() (string, *tokenWait) {
	token := randomHex(24)
	w := &tokenWait{result: make(chan tokenResult, 1), heartbeat: make(chan struct{}, 1)}
	h.mu.Lock()
	h.waiting[token] = w
	h.mu.Unlock()
	return token, w
}

func (h *TokenHub) forget(token string) {
	h.mu.Lock()
	delete(h.waiting, token)
	h.mu.Unlock()
}

func (h *TokenHub) take(token string) (*tokenWait, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.waiting[token]
	if !ok {
		return nil, fmt.Errorf("TaskDoesNotExist: no task is waiting for token %q", token)
	}
	delete(h.waiting, token)
	return w, nil
}

// Success completes the task waiting for token with output (a JSON value).
func (h *TokenHub) Success(token string, output any) error {
	norm, err := normalize(output)
	if err != nil {
		return fmt.Errorf("task output is not JSON: %w", err)
	}
	w, err := h.take(token)
	if err != nil {
		return err
	}
	w.result <- tokenResult{output: norm}
	return nil
}

// Failure fails the task waiting for token with the named error.
func (h *TokenHub) Failure(token, errName, cause string) error {
	w, err := h.take(token)
	if err != nil {
		return err
	}
	w.result <- tokenResult{err: &Error{Name: errName, Cause: cause}}
	return nil
}

// Heartbeat tells the task waiting for token that its worker is alive,
// restarting its HeartbeatSeconds countdown.
func (h *TokenHub) Heartbeat(token string) error {
	h.mu.Lock()
	w, ok := h.waiting[token]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("TaskDoesNotExist: no task is waiting for token %q", token)
	}
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // documented never to fail
	return hex.EncodeToString(b)
}

// Waiting lists the tokens tasks are waiting on, sorted.
func (h *TokenHub) Waiting() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.waiting))
	for t := range h.waiting {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
