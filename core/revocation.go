package core

import (
	"crypto/x509"
	"errors"
	"fmt"
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
	// issuer finds a CA certificate in memory by fingerprint (nil if
	// unknown), for its own revocation.
	issuer func(fingerprint string) *ca.Issuer
}

// Status reads only what an answer needs: the responder asks per request.
// A certificate whose issuer is revoked is answered revoked too, from the
// issuer's revocation (unless it was revoked earlier itself): a relying
// party that checks only the leaf's OCSP, as browsers do, learns it, and
// the root's CRL says the same to those that check the whole chain.
func (src revocationSource) Status(serial *big.Int) (ocsp.Status, error) {
	st, err := src.store.CertificateStatus(serial)
	if errors.Is(err, storage.ErrNotFound) {
		return ocsp.Status{}, nil
	}
	if err != nil {
		return ocsp.Status{}, err
	}
	out := ocsp.Status{Issued: true, IssuerFingerprint: st.Root, Revoked: st.Revoked, RevokedAt: st.RevokedAt, Reason: st.Reason}
	if iss := src.issuer(st.Root); iss != nil {
		if r, ok := iss.Revocation(); ok && (!out.Revoked || r.At.Before(out.RevokedAt)) {
			out.Revoked, out.RevokedAt, out.Reason = true, r.At, ca.IssuerRevokedReason(r.Reason)
		}
	}
	return out, nil
}

// Revocations are those a CRL made now lists: a certificate that has
// expired leaves it (RFC 5280 5.1.2.6 allows it), so the CRL's size
// follows the revoked certificates still valid, not every one ever
// revoked. ca rebuilds a CRL at least every CRLValidity/2, so an expired
// entry goes within that even when nothing else is revoked.
//
// A root's list holds the intermediates revoked under it, until they end
// too.
func (src revocationSource) Revocations(root string, now time.Time) (uint64, []ca.Revoked, error) {
	gen, list, err := src.store.Revocations(root, now)
	if err != nil {
		return 0, nil, err
	}
	out := make([]ca.Revoked, len(list))
	for i, r := range list {
		out[i] = ca.Revoked{Serial: r.Serial, At: r.At, Reason: r.Reason}
	}
	cas, err := src.revokedIntermediates(root, now)
	return gen, append(out, cas...), err
}

// revokedIntermediates lists the intermediates revoked under root that
// are still valid at now.
func (src revocationSource) revokedIntermediates(root string, now time.Time) ([]ca.Revoked, error) {
	recs, _, err := src.store.Roots()
	if err != nil {
		return nil, err
	}
	var out []ca.Revoked
	for _, r := range recs {
		if r.Parent != root || !r.Revoked {
			continue
		}
		cert, err := x509.ParseCertificate(r.CertDER)
		if err != nil {
			return nil, fmt.Errorf("intermediate %s: %w", r.Fingerprint, err)
		}
		if cert.NotAfter.After(now) {
			out = append(out, ca.Revoked{Serial: cert.SerialNumber, At: r.RevokedAt, Reason: r.Reason})
		}
	}
	return out, nil
}

func (src revocationSource) CRLState(root string) (uint64, ca.AgreedCRL, error) {
	gen, a, err := src.store.CRLState(root)
	return gen, ca.AgreedCRL(a), err
}

func (src revocationSource) AgreeCRL(root string, seen, gen uint64, thisUpdate time.Time) (ca.AgreedCRL, error) {
	a, err := src.store.AgreeCRL(root, seen, gen, thisUpdate)
	return ca.AgreedCRL(a), err
}

func (src revocationSource) RootCRL(root string) ([]byte, error) {
	recs, _, err := src.store.Roots()
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Fingerprint == root {
			return r.CRL, nil
		}
	}
	return nil, nil
}

func (src revocationSource) PutRootCRL(root string, der []byte) error {
	_, err := src.store.UpdateRoot(root, func(r *storage.Root) error {
		r.CRL = der
		return nil
	})
	return err
}

func (src revocationSource) NextCRLNumber(root string) (*big.Int, error) {
	n, err := src.store.NextCRLNumber(root)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetUint64(n), nil
}

// ocspIssuers lists the issuers of leaves (intermediates, one-tier roots)
// for the responder; one added (a rotation) is in the next request's list.
// Issuers is a shared slice, so this costs one small allocation and no
// sort. Two-tier roots are left out: they sign no leaf, and their key may
// be offline.
func (s *Service) ocspIssuers() []ocsp.Issuer {
	all := s.ca.Issuers()
	out := make([]ocsp.Issuer, 0, len(all))
	for _, r := range all {
		if r.SignsLeaves() && r.Signer != nil {
			out = append(out, ocsp.Issuer{Cert: r.Cert, Signer: r.Signer})
		}
	}
	return out
}
