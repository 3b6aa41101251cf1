package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/medic-sre/medic/internal/server/apitoken"
)

// errNoToken and friends are what a refused caller reads; none of them
// echoes what was presented.
var (
	errNoToken       = errors.New("this endpoint requires the local API token: send the header Authorization: Bearer TOKEN, TOKEN being the content of api-token in the state directory of medic serve")
	errBadScheme     = errors.New("the Authorization header must be given once, as: Bearer TOKEN")
	errWrongToken    = errors.New("the API token is wrong")
	errServerNoToken = errors.New("medic serve has no API token configured, so this endpoint is closed")
)

// authorised wraps a read or control endpoint: it runs only for a request
// carrying the local API token. Refusals are logged with the path and the
// reason, never with what was presented.
func (s *Server) authorised(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkToken(r); err != nil {
			s.log().Warn("API request refused", "method", r.Method, "path", r.URL.Path, "reason", err.Error())
			w.Header().Set("WWW-Authenticate", `Bearer realm="medic"`)
			s.fail(w, http.StatusUnauthorized, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorisedFunc(next http.HandlerFunc) http.Handler { return s.authorised(next) }

func (s *Server) checkToken(r *http.Request) error {
	if s.APIToken == "" {
		return errServerNoToken // fail closed: no token configured opens nothing
	}
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return errNoToken
	case len(values) > 1:
		return errBadScheme
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errBadScheme
	}
	if !apitoken.Equal(token, s.APIToken) {
		return errWrongToken
	}
	return nil
}

// slackRoutes keeps Slack's own door for what Slack sends (POSTs, each
// checked against the signing secret by the chatops handler) and puts
// everything else under /slack/ (the counters, and any read route added
// later) behind the API token.
func (s *Server) slackRoutes() http.Handler {
	authed := s.authorised(s.Slack)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			s.Slack.ServeHTTP(w, r)
			return
		}
		authed.ServeHTTP(w, r)
	})
}
