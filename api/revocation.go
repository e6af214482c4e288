package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/ocsp"
	"certmaker/store"
)

type revokeRequest struct {
	Reason string `json:"reason"`
}

// handleRevoke revokes one of the user's certificates (any, for an admin).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, p httprouter.Params, u *store.User) {
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
		if err := checkKeys(body); err != nil {
			Error(w, r, err)
			return
		}
	}
	c, err := s.Revoke(r.Context(), u, p.ByName("id"), rr.Reason)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeText(w, http.StatusOK, fmt.Sprintf("certificate %s revoked (%s)\n", c.Serial, ca.ReasonName(c.Reason)))
}

// Revoke revokes certificate id for an RFC 5280 reason name ("" is
// unspecified) on behalf of u: its own certificates, or any for an admin.
func (s *Server) Revoke(_ context.Context, u *store.User, id, reason string) (store.Certificate, error) {
	code, err := ca.ParseReason(reason)
	if err != nil {
		return store.Certificate{}, err
	}
	c, err := s.ownCertificate(id, u, true)
	if err != nil {
		return store.Certificate{}, err
	}
	c, err = s.store.Revoke(c.Serial, s.ca.Now(), code)
	if err != nil {
		return store.Certificate{}, err
	}
	s.CountRevocation(c.KeyType)
	return c, nil
}

// handleCRL serves a root's CRL in DER: the active root's without a
// fingerprint, else the named one's. No token: relying parties fetch it.
func (s *Server) handleCRL(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	fp := strings.ToLower(p.ByName("fingerprint"))
	if fp == "" {
		root := s.ca.Active()
		if root == nil {
			Error(w, r, errors.New("no active root"))
			return
		}
		fp = root.Fingerprint
	}
	der, this, next, err := s.crls.CRL(fp)
	if errors.Is(err, ca.ErrUnknownRoot) {
		Error(w, r, fmt.Errorf("%w: no root with fingerprint %.64q", errNotFound, fp))
		return
	}
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

// revocationSource adapts the store to what ocsp and ca's CRLs read.
type revocationSource struct{ store Store }

// Status reads only what an answer needs: the responder asks per request.
func (src revocationSource) Status(serial *big.Int) (ocsp.Status, error) {
	st, err := src.store.CertificateStatus(serial)
	if errors.Is(err, store.ErrNotFound) {
		return ocsp.Status{}, nil
	}
	if err != nil {
		return ocsp.Status{}, err
	}
	return ocsp.Status{Issued: true, IssuerFingerprint: st.Root, Revoked: st.Revoked, RevokedAt: st.RevokedAt, Reason: st.Reason}, nil
}

func (src revocationSource) Revocations(root string) (uint64, []ca.Revoked, error) {
	gen, list, err := src.store.Revocations(root)
	if err != nil {
		return 0, nil, err
	}
	out := make([]ca.Revoked, len(list))
	for i, r := range list {
		out[i] = ca.Revoked{Serial: r.Serial, At: r.At, Reason: r.Reason}
	}
	return gen, out, nil
}

func (src revocationSource) RevocationGeneration(root string) (uint64, error) {
	return src.store.RevocationGeneration(root)
}

func (src revocationSource) NextCRLNumber(root string) (*big.Int, error) {
	n, err := src.store.NextCRLNumber(root)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetUint64(n), nil
}

// ocspIssuers lists the authority's roots for the responder; a root added
// (a rotation) is in the next request's list. Roots is a shared slice, so
// this costs one small allocation and no sort.
func (s *Server) ocspIssuers() []ocsp.Issuer {
	roots := s.ca.Roots()
	out := make([]ocsp.Issuer, len(roots))
	for i, r := range roots {
		out[i] = ocsp.Issuer{Cert: r.Cert, Signer: r.Signer}
	}
	return out
}

// ocspClock lets the responder share the authority's clock.
func (s *Server) ocspClock() time.Time { return s.ca.Now() }
