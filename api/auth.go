package api

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/store"
)

// authedHandle is a handler that runs only for an enabled user.
type authedHandle func(http.ResponseWriter, *http.Request, httprouter.Params, *store.User)

// authed resolves X-Auth-Token to a user: missing 401, unknown 404,
// disabled 401, as the API has always answered. The user is read per
// request, so `user disable` takes effect on the next one. The token is
// only ever hashed and looked up by its hash; it never reaches a log.
func (s *Server) authed(h authedHandle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		tokens := r.Header.Values("X-Auth-Token")
		if len(tokens) > 1 {
			// Which one counts would depend on the proxy in between.
			Error(w, r, badRequest("more than one X-Auth-Token header"))
			return
		}
		token := r.Header.Get("X-Auth-Token")
		if token == "" {
			Error(w, r, errNoToken)
			return
		}
		u, err := s.store.UserByTokenHash(store.HashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			Error(w, r, errUnknownToken)
			return
		}
		if err != nil {
			Error(w, r, err)
			return
		}
		if rec := recordOf(r); rec != nil {
			rec.user = u.Name
		}
		if u.Disabled {
			Error(w, r, errDisabled)
			return
		}
		h(w, r, p, &u)
	}
}
