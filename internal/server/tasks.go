package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// TaskTokens resumes executions waiting in a .waitForTaskToken step: the
// local SendTaskSuccess / SendTaskFailure. *asl.TokenHub implements it.
type TaskTokens interface {
	Success(token string, output any) error
	Failure(token, errName, cause string) error
	Waiting() []string
}

// taskRoutes serves
//
//	GET  /v1/tasks                     tokens waiting
//	POST /v1/tasks/{token}/success     body: the task output (JSON)
//	POST /v1/tasks/{token}/failure     body: {"error": "...", "cause": "..."}
func (s *Server) taskRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/tasks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"waiting": s.Tokens.Waiting()})
	})
	mux.HandleFunc("POST /v1/tasks/{token}/{outcome}", s.resumeTask)
}

func (s *Server) resumeTask(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Errorf("task output over 256 KiB"))
		return
	}
	token := r.PathValue("token")
	switch r.PathValue("outcome") {
	case "success":
		var output any = map[string]any{}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &output); err != nil {
				s.fail(w, http.StatusBadRequest, fmt.Errorf("task output is not JSON: %w", err))
				return
			}
		}
		err = s.Tokens.Success(token, output)
	case "failure":
		var f struct{ Error, Cause string }
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &f); err != nil {
				s.fail(w, http.StatusBadRequest, fmt.Errorf("failure body: want {\"error\",\"cause\"}: %w", err))
				return
			}
		}
		err = s.Tokens.Failure(token, f.Error, f.Cause)
	default:
		s.fail(w, http.StatusNotFound, fmt.Errorf("outcome %q: want success or failure", r.PathValue("outcome")))
		return
	}
	if err != nil {
		s.fail(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": token, "outcome": r.PathValue("outcome")})
}
