package core

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"certmaker/ca"
	"certmaker/inventory"
	"certmaker/storage"
)

// owns is the owner rule: a certificate is its owner's; the operator and
// admin users may act on any; an ACME account on those it ordered (one
// without a binding, which any stranger may make, on those alone); a
// request signed by the certificate's own key on that certificate.
func (s *Service) owns(a Actor, c *storage.Certificate, admins bool) bool {
	switch {
	case a.operator(), admins && a.Admin:
		return true
	case a.User != "" && c.Owner == a.User && !a.Unbound:
		return true
	case a.Key != nil:
		return sameKey(a.Key, c.DER)
	case a.Account != "":
		o, err := s.store.ACMEOrderBySerial(c.Serial)
		return err == nil && o.Account == a.Account
	}
	return false
}

// sameKey reports whether pub is the public key certified in der.
func sameKey(pub crypto.PublicKey, der []byte) bool {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return false
	}
	k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}

func notFound(serial *big.Int) error {
	return fmt.Errorf("certificate %s: %w", serial, storage.ErrNotFound)
}

// certificate reads a certificate the actor may act on. Anything else is
// reported as not found, so that ids of other users' certificates cannot
// be probed; only a caller that has shown the certificate (der) learns
// that it is someone else's (Forbidden).
func (s *Service) certificate(a Actor, serial *big.Int, der []byte, admins bool) (storage.Certificate, error) {
	c, err := s.store.Certificate(serial)
	if err != nil {
		return c, err
	}
	if der != nil && !bytes.Equal(c.DER, der) {
		return storage.Certificate{}, notFound(serial)
	}
	if !s.owns(a, &c, admins) {
		if der != nil {
			return storage.Certificate{}, Errorf(Forbidden, "certificate %s belongs to another user", serial)
		}
		return storage.Certificate{}, notFound(serial)
	}
	return c, nil
}

// Certificate reads a certificate the actor may see: its own, or any for
// an admin or the operator; NotFound otherwise.
func (s *Service) Certificate(_ context.Context, a Actor, serial *big.Int) (storage.Certificate, error) {
	return s.certificate(a, serial, nil, true)
}

// errNoKey is a certificate whose key the server never had.
var errNoKey = errors.New("not found")

// PrivateKeyPEM returns the PKCS#8 PEM key of a certificate, to its owner
// only (not to admins: they may read certificates, which are public
// anyway, but not someone else's key); NotFound otherwise and for CSR
// certificates.
func (s *Service) PrivateKeyPEM(_ context.Context, a Actor, serial *big.Int) ([]byte, error) {
	c, err := s.certificate(Actor{Door: a.Door, User: a.User}, serial, nil, false)
	if err != nil {
		return nil, err
	}
	if c.KeyPKCS8 == nil {
		return nil, Errorf(NotFound, "private key of certificate %s: %w (it was issued from a CSR; the server never had its key)", c.Serial, errNoKey)
	}
	if c.Owner == ServerOwner {
		// The CA's own HTTPS key never leaves it, whoever asks.
		return nil, Errorf(NotFound, "private key of certificate %s: %w (it is the CA's own server key)", c.Serial, errNoKey)
	}
	return ca.KeyPEM(c.KeyPKCS8), nil
}

// Certificates lists certificates, newest first: the actor's own, or for
// an admin or the operator q.Owner's ("" for everyone's).
func (s *Service) Certificates(_ context.Context, a Actor, q inventory.Query) (inventory.Page, error) {
	if !a.operator() && !a.Admin {
		q.Owner = a.User
	}
	return inventory.List(s.store, s.ca, q, s.ca.Now())
}

// CountExpiry counts certificates by when they end, for the expiry
// timeline: everyone's (q.Owner "") only for an admin or the operator,
// anyone else's own whatever q.Owner says, as listings do.
func (s *Service) CountExpiry(_ context.Context, a Actor, q storage.ExpiryQuery) (storage.ExpiryCounts, error) {
	if !a.operator() && !a.Admin {
		q.Owner = a.User
	}
	return s.store.CountExpiry(q)
}

// Describe describes a certificate the actor may see, as listings do.
func (s *Service) Describe(ctx context.Context, a Actor, serial *big.Int) (inventory.Certificate, storage.Certificate, error) {
	c, err := s.Certificate(ctx, a, serial)
	if err != nil {
		return inventory.Certificate{}, c, err
	}
	d, err := inventory.Describe(c, s.ca, s.ca.Now())
	return d, c, err
}
