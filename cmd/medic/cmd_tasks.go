package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/medic-sre/medic/internal/server"
	"github.com/medic-sre/medic/internal/server/apitoken"
)

func init() {
	register(command{name: "tasks", summary: "tasks a running serve waits on: list | approve TOKEN | reject TOKEN", run: runTasks})
}

const tasksUsage = "usage: medic tasks list [--json] | approve TOKEN | reject TOKEN [--as USER] [--comment TEXT]  [--addr HOST:PORT] [--state DIR]"

// runTasks talks to a running `medic serve` over HTTP, with the API token
// of its state directory (or MEDIC_API_TOKEN).
func runTasks(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "approve" && args[0] != "reject") {
		fmt.Fprintln(stderr, tasksUsage)
		return 2
	}
	verb, rest := args[0], args[1:]
	var token string
	if verb != "list" {
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			fmt.Fprintln(stderr, tasksUsage)
			return 2
		}
		token, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("tasks "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("MEDIC_ADDR", "127.0.0.1:8080"), "address of the running medic serve")
	state := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory of that serve (its api-token)")
	as := fs.String("as", "", "who decides (a user the chatops approve grants allow); leave out without a chatops config")
	comment := fs.String("comment", "", "why (kept in the decision)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	client, err := newAPIClient(*addr, *state)
	if err != nil {
		fmt.Fprintln(stderr, "medic tasks:", err)
		return 1
	}
	if verb == "list" {
		return listTasks(client, *asJSON, stdout, stderr)
	}
	outcome := map[string]string{"approve": "success", "reject": "failure"}[verb]
	body, _ := json.Marshal(map[string]string{"user": *as, "comment": *comment})
	var res struct {
		Execution string
		Decision  *struct{ Decision, By string }
	}
	if err := client.do(http.MethodPost, "/v1/tasks/"+url.PathEscape(token)+"/"+outcome, body, &res); err != nil {
		fmt.Fprintln(stderr, "medic tasks:", err)
		return 1
	}
	if res.Decision != nil {
		fmt.Fprintf(stdout, "execution %s: %s by %s\n", res.Execution, res.Decision.Decision, res.Decision.By)
	} else {
		fmt.Fprintf(stdout, "execution %s: task completed (%s)\n", res.Execution, outcome)
	}
	return 0
}

func listTasks(client *apiClient, asJSON bool, stdout, stderr io.Writer) int {
	var res struct{ Tasks []server.WaitingTask }
	if err := client.do(http.MethodGet, "/v1/tasks", nil, &res); err != nil {
		fmt.Fprintln(stderr, "medic tasks:", err)
		return 1
	}
	if asJSON {
		return printJSON(stdout, res.Tasks)
	}
	if len(res.Tasks) == 0 {
		fmt.Fprintln(stdout, "no task is waiting")
	}
	for _, t := range res.Tasks {
		what := "callback"
		if t.Approval != nil {
			what = "approval of " + t.Approval.Action
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", t.Token, t.Execution, t.State, what)
	}
	return 0
}

// apiClient calls a running serve's read and control endpoints.
type apiClient struct {
	base, token string
	http        *http.Client
}

func newAPIClient(addr, stateDir string) (*apiClient, error) {
	token, err := apitoken.ForClient(os.Getenv, stateDir)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(addr, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	return &apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends the request with the token and decodes a 2xx answer into out;
// otherwise the error is the server's own.
func (c *apiClient) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return errors.New(resp.Status)
	}
	return json.Unmarshal(raw, out)
}
