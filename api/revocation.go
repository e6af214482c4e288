package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/internal/jsonkeys"
)

type revokeRequest struct {
	Reason string `json:"reason"`
}

// handleRevoke revokes one of the user's certificates (any, for an admin).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, p httprouter.Params, a core.Actor) {
	body, err := readBody(w, r)
	if err != nil {
		Error(w, r, err)
		return
	}
	var rr revokeRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &rr); err != nil {
			Error(w, r, badRequest("malformed JSON: %v", jsonError(err)))
			return
		}
		if err := jsonkeys.Check(body); err != nil {
			Error(w, r, badRequest("malformed JSON: %v", err))
			return
		}
	}
	code, err := ca.ParseReason(rr.Reason)
	if err != nil {
		Error(w, r, err)
		return
	}
	serial, err := ca.ParseSerial(p.ByName("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	c, err := s.core.Revoke(r.Context(), a, core.Revocation{Serial: serial, Reason: code})
	if err != nil {
		Error(w, r, err)
		return
	}
	writeText(w, http.StatusOK, fmt.Sprintf("certificate %s revoked (%s)\n", c.Serial, ca.ReasonName(c.Reason)))
}

// handleCRL serves a root's CRL in DER: the active root's without a
// fingerprint, else the named one's. No token: relying parties fetch it.
func (s *Server) handleCRL(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	der, this, next, err := s.core.CRL(strings.ToLower(p.ByName("fingerprint")))
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Content-Length", strconv.Itoa(len(der)))
	w.Header().Set("Last-Modified", this.UTC().Format(http.TimeFormat))
	w.Header().Set("Expires", next.UTC().Format(http.TimeFormat))
	// Short: a revocation makes a new CRL at once, and caches should see it soon.
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.WriteHeader(http.StatusOK)
	w.Write(der)
}
