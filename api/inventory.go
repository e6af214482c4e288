package api

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/inventory"
)

// handleCertificates lists the caller's certificates (an admin's: everyone's,
// or ?user=NAME's), newest first, with the same filters as `cert list`.
func (s *Server) handleCertificates(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a core.Actor) {
	q, err := inventory.QueryFromURL(r.URL.Query())
	if err != nil {
		Error(w, r, err)
		return
	}
	page, err := s.core.Certificates(r.Context(), a, q)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, page)
}

// handleCertificate describes one certificate under the owner rule.
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request, p httprouter.Params, a core.Actor) {
	switch p.ByName("id") {
	case "request", "new", "request-with-csr":
		// GET on a POST route shares this pattern; say what is wrong.
		w.Header().Set("Allow", http.MethodPost)
		Error(w, r, errMethod)
		return
	}
	serial, err := ca.ParseSerial(p.ByName("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	d, _, err := s.core.Describe(r.Context(), a, serial)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, d)
}

func writeJSON(w http.ResponseWriter, v any) {
	writeJSONStatus(w, http.StatusOK, v)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "internal error\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
