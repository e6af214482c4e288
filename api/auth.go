package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
	"certmaker/httplog"
)

// authedHandle is a handler that runs only for an enabled user.
type authedHandle func(http.ResponseWriter, *http.Request, httprouter.Params, core.Actor)

// authed resolves X-Auth-Token to an enabled user (the core's rule):
// missing 401, unknown 404, disabled 401, as the API has always answered.
// The token is only ever hashed and looked up by its hash; it never
// reaches a log.
func (s *Server) authed(h authedHandle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if len(r.Header.Values("X-Auth-Token")) > 1 {
			// Which one counts would depend on the proxy in between.
			Error(w, r, badRequest("more than one X-Auth-Token header"))
			return
		}
		token := r.Header.Get("X-Auth-Token")
		if token == "" {
			Error(w, r, errNoToken)
			return
		}
		u, err := s.core.Authenticate(r.Context(), token)
		if u.Name != "" {
			httplog.SetUser(r, u.Name)
		}
		if err != nil {
			Error(w, r, err)
			return
		}
		h(w, r, p, core.Actor{Door: core.DoorAPI, User: u.Name, Admin: u.Admin})
	}
}
