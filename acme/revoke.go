package acme

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
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
		a = actor(q.account)
	}
	_, err = s.core.Revoke(r.Context(), a, rev)
	switch k := core.KindOf(err); {
	case err == nil:
		w.WriteHeader(http.StatusOK)
		return nil
	case errors.Is(err, core.ErrReason):
		return newProblem(probBadRevocationReason, http.StatusBadRequest, "reason %d is not one certmaker revokes for (0, 1, 3, 4, 5, 9)", rev.Reason)
	case k == core.NotFound:
		return newProblem(probMalformed, http.StatusNotFound, "this CA did not issue that certificate")
	case k == core.Revoked:
		return newProblem(probAlreadyRevoked, http.StatusBadRequest, "certificate %s is already revoked", rev.Serial)
	case k == core.Forbidden && q.jwk != nil:
		return unauthorized("the request is signed by neither an account nor the certificate's key")
	}
	return asProblem(err)
}
