package acme

import (
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
)

// renewalInfo is RFC 9773's answer: when to renew.
type renewalInfo struct {
	SuggestedWindow suggestedWindow `json:"suggestedWindow"`
}

type suggestedWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// handleRenewalInfo answers GET renewalInfo/<certID> (RFC 9773 4.2): the
// window in which the certificate should be renewed, and with Retry-After
// when to ask again. Like OCSP it needs no account: a certID says nothing
// a certificate does not show. An unknown certID is 404.
func (s *Server) handleRenewalInfo(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	id, err := core.ParseCertID(p.ByName("certid"))
	if err != nil {
		return err
	}
	win, err := s.core.RenewalInfo(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(win.RetryAfter.Seconds())))
	return writeJSON(w, http.StatusOK, renewalInfo{SuggestedWindow: suggestedWindow{Start: timestamp(win.Start), End: timestamp(win.End)}})
}
