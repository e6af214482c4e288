package acme

import (
	"crypto/x509"
	"encoding/base64"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
)

type revokeRequest struct {
	Certificate string `json:"certificate"`
	Reason      *int   `json:"reason"`
}

// handleRevokeCert revokes a certificate (RFC 8555 7.6) for a request
// signed by an account of the certificate's certmaker user (or the account
// that ordered it), or by the certificate's own key: the core's owner rule.
func (s *Server) handleRevokeCert(w http.ResponseWriter, r *http.Request, _ httprouter.Params, q *request) error {
	var req revokeRequest
	if err := q.decode(&req); err != nil {
		return err
	}
	der, err := base64.RawURLEncoding.DecodeString(req.Certificate)
	if err != nil || len(der) == 0 {
		return malformed("certificate is not base64url-encoded DER")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return malformed("certificate does not parse: %v", err)
	}
	rev := core.Revocation{Serial: cert.SerialNumber, DER: der}
	if req.Reason != nil {
		rev.Reason = *req.Reason
	}
	a := core.Actor{Door: core.DoorACME}
	if q.jwk != nil {
		a.Key = q.jwk.Key
	} else {
		a = core.ACMEActor(q.account)
	}
	if _, err := s.core.Revoke(r.Context(), a, rev); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
