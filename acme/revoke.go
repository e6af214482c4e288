package acme

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/store"
)

type revokeRequest struct {
	Certificate string `json:"certificate"`
	Reason      *int   `json:"reason"`
}

// handleRevokeCert revokes a certificate (RFC 8555 7.6) for a request
// signed by an account of the certificate's certmaker user (or the account
// that ordered it), or by the certificate's own key.
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
	code := 0
	if req.Reason != nil {
		code = *req.Reason
	}
	// ParseReason knows the reasons certmaker revokes for; certificateHold
	// and removeFromCRL are not among them.
	if _, err := ca.ParseReason(ca.ReasonName(code)); err != nil {
		return newProblem(probBadRevocationReason, http.StatusBadRequest, "reason %d is not one certmaker revokes for (0, 1, 3, 4, 5, 9)", code)
	}
	stored, err := s.store.Certificate(cert.SerialNumber)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !bytes.Equal(stored.DER, der)) {
		return newProblem(probMalformed, http.StatusNotFound, "this CA did not issue that certificate")
	}
	if err != nil {
		return internal(err)
	}
	if err := s.mayRevoke(q, &stored, cert); err != nil {
		return err
	}
	c, err := s.store.Revoke(stored.Serial, s.ca.Now(), code)
	if errors.Is(err, store.ErrRevoked) {
		return newProblem(probAlreadyRevoked, http.StatusBadRequest, "certificate %s is already revoked", stored.Serial)
	}
	if err != nil {
		return internal(err)
	}
	s.issuer.CountRevocation(c.KeyType)
	s.log.Info("ACME certificate revoked", "serial", c.Serial.String(), "owner", c.Owner, "reason", ca.ReasonName(code))
	w.WriteHeader(http.StatusOK)
	return nil
}

// mayRevoke is RFC 8555 7.6's rule, with certmaker's owner rule for
// accounts: they act for a user, and a user may revoke its certificates.
func (s *Server) mayRevoke(q *request, c *store.Certificate, cert *x509.Certificate) error {
	if q.jwk != nil {
		tp, err := thumbprint(q.jwk)
		if err != nil {
			return err
		}
		if tp != publicThumbprint(cert.PublicKey) {
			return unauthorized("the request is signed by neither an account nor the certificate's key")
		}
		return nil
	}
	if c.Owner == q.account.Owner {
		return nil
	}
	if o, err := s.store.ACMEOrderBySerial(c.Serial); err == nil && o.Account == q.account.ID {
		return nil
	}
	return unauthorized("the certificate belongs to another user")
}
