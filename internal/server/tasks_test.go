package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/internal/asl"
	"github.com/medic-sre/medic/internal/localtask"
)

// waitMachine is one .waitForTaskToken step on a function that is not the
// approval function: a plain callback.
const waitMachine = `{"StartAt":"Wait","States":{"Wait":{"Type":"Task",
 "Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
 "Parameters":{"FunctionName":"deploy-hook","Payload":{"token.$":"$$.Task.Token"}},
 "TimeoutSeconds":60,"End":true}}}`

// runWaiting runs waitMachine over hub, its tasks watched by board when
// given, and returns the token it waits on and the execution's result.
func runWaiting(t *testing.T, hub *asl.TokenHub, board *TaskBoard) (string, <-chan any) {
	t.Helper()
	m, err := asl.Parse([]byte(waitMachine))
	if err != nil {
		t.Fatal(err)
	}
	tokens := make(chan string, 1)
	var tasks asl.TaskHandler = &localtask.Handler{Functions: map[string]localtask.Function{
		"deploy-hook": func(_ context.Context, p any) (any, error) {
			tokens <- p.(map[string]any)["token"].(string)
			return nil, nil
		},
	}}
	if board != nil {
		tasks = board.Watch(tasks)
	}
	done := make(chan any, 1)
	go func() {
		out, err := m.Run(context.Background(), map[string]any{}, asl.Options{Tasks: tasks, Tokens: hub, ExecutionName: "exec-1"})
		if err != nil {
			done <- err
			return
		}
		done <- out
	}()
	select {
	case tok := <-tokens:
		return tok, done
	case <-time.After(10 * time.Second):
		t.Fatal("the task never ran")
	}
	return "", nil
}

func taskServer(t *testing.T, board *TaskBoard) string {
	srv := httptest.NewServer((&Server{Tasks: board, APIToken: testToken, Log: slog.New(slog.DiscardHandler)}).Routes())
	t.Cleanup(srv.Close)
	return srv.URL
}

func authedPost(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A callback that is not an approval is completed by the API token's
// holder with the body as the task output, as before.
func TestCallbackTaskCompletesWithItsOutput(t *testing.T) {
	hub := asl.NewTokenHub()
	board := NewTaskBoard(hub)
	url := taskServer(t, board)
	token, done := runWaiting(t, hub, board)
	if tasks := board.Waiting(); len(tasks) != 1 || tasks[0].Approval != nil || tasks[0].Execution != "exec-1" || tasks[0].State != "Wait" {
		t.Fatalf("board: %+v", tasks)
	}
	if code, body := authedPost(t, url+"/v1/tasks/"+token+"/success", `{"deployed":"v2"}`); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	out := <-done
	if m, ok := out.(map[string]any); !ok || m["deployed"] != "v2" {
		t.Fatalf("execution output: %v", out)
	}
	if len(board.Waiting()) != 0 {
		t.Fatal("a completed task stays on the board")
	}
}

// A token the board has not seen (its task was not watched) is not
// completed over HTTP, even though a task waits on it: HTTP completes
// only what it knows the nature of.
func TestUnwatchedTokenIsNotCompleted(t *testing.T) {
	hub := asl.NewTokenHub()
	board := NewTaskBoard(hub)
	url := taskServer(t, board)
	token, done := runWaiting(t, hub, nil)
	if code, _ := authedPost(t, url+"/v1/tasks/"+token+"/success", `{}`); code != http.StatusNotFound {
		t.Fatalf("unwatched token: %d, want 404", code)
	}
	hub.Failure(token, "Test.End", "")
	<-done
}
