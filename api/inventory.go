package api

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/inventory"
	"certmaker/store"
)

// handleCertificates lists the caller's certificates (an admin's: everyone's,
// or ?user=NAME's), newest first, with the same filters as `cert list`.
func (s *Server) handleCertificates(w http.ResponseWriter, r *http.Request, _ httprouter.Params, u *store.User) {
	q, err := inventory.QueryFromURL(r.URL.Query())
	if err != nil {
		Error(w, r, err)
		return
	}
	if !u.Admin {
		q.Owner = u.Name
	}
	page, err := inventory.List(s.store, q, s.ca.Now())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, page)
}

// handleCertificate describes one certificate under the owner rule.
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request, p httprouter.Params, u *store.User) {
	switch p.ByName("id") {
	case "request", "new", "request-with-csr":
		// GET on a POST route shares this pattern; say what is wrong.
		w.Header().Set("Allow", http.MethodPost)
		Error(w, r, errMethod)
		return
	}
	c, err := s.ownCertificate(p.ByName("id"), u, true)
	if err != nil {
		Error(w, r, err)
		return
	}
	d, err := inventory.Describe(c, s.ca.Now())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, d)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "internal error\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}
