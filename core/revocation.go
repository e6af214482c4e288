package core

import (
	"errors"
	"math/big"
	"time"

	"certmaker/ca"
	"certmaker/ocsp"
	"certmaker/storage"
)

// revocationSource adapts the store to what ocsp and ca's CRLs read.
type revocationSource struct {
	store storage.Store
	now   func() time.Time
}

// Status reads only what an answer needs: the responder asks per request.
func (src revocationSource) Status(serial *big.Int) (ocsp.Status, error) {
	st, err := src.store.CertificateStatus(serial)
	if errors.Is(err, storage.ErrNotFound) {
		return ocsp.Status{}, nil
	}
	if err != nil {
		return ocsp.Status{}, err
	}
	return ocsp.Status{Issued: true, IssuerFingerprint: st.Root, Revoked: st.Revoked, RevokedAt: st.RevokedAt, Reason: st.Reason}, nil
}

// Revocations are those a CRL made now lists: a certificate that has
// expired leaves it (RFC 5280 5.1.2.6 allows it), so the CRL's size
// follows the revoked certificates still valid, not every one ever
// revoked. ca rebuilds a CRL at least every CRLValidity/2, so an expired
// entry goes within that even when nothing else is revoked.
func (src revocationSource) Revocations(root string) (uint64, []ca.Revoked, error) {
	gen, list, err := src.store.Revocations(root, src.now())
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
func (s *Service) ocspIssuers() []ocsp.Issuer {
	roots := s.ca.Roots()
	out := make([]ocsp.Issuer, len(roots))
	for i, r := range roots {
		out[i] = ocsp.Issuer{Cert: r.Cert, Signer: r.Signer}
	}
	return out
}
