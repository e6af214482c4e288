package core

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
)

// EAB is an ACME External Account Binding key (RFC 8555 7.3.4): an ACME
// client that presents it creates accounts acting for the key's user.
type EAB struct {
	KeyID   string `json:"key_id"`
	HMACKey string `json:"hmac_key"` // base64url, no padding, as ACME clients take it
}

// EABInfo is one row of the EAB key list: never the HMAC key.
type EABInfo struct {
	KeyID   string    `json:"key_id"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	// Accounts is how many ACME accounts the key bound; 0 means unused.
	Accounts int `json:"accounts"`
}

// ACMEEAB makes a new EAB key for a user. A user may hold several; each
// stays usable, so a proxy that loses its account can register again.
func (s *Service) ACMEEAB(ctx context.Context, a Actor, name string) (EAB, error) {
	k, err := s.acmeEAB(ctx, a, name)
	s.audit(ctx, a, "acme.eab.create", k.KeyID, err, slogUser(name))
	return k, err
}

func (s *Service) acmeEAB(ctx context.Context, a Actor, name string) (EAB, error) {
	if err := mayAdminister(a); err != nil {
		return EAB{}, err
	}
	if _, err := s.store.User(name); err != nil {
		return EAB{}, err
	}
	_, id, err := newSecret(12)
	if err != nil {
		return EAB{}, fmt.Errorf("making EAB key id: %w", err)
	}
	key, keyText, err := newSecret(32) // HS256 wants at least 256 bits
	if err != nil {
		return EAB{}, fmt.Errorf("making EAB key: %w", err)
	}
	k := storage.ACMEEAB{ID: id, Owner: name, Key: key, Created: s.ca.Now().UTC()}
	if err := s.noteWrite(ctx, s.store.CreateACMEEAB(k)); err != nil {
		return EAB{}, err
	}
	return EAB{KeyID: k.ID, HMACKey: keyText}, nil
}

// ACMEEABs lists the EAB keys of user, or of every user for "".
func (s *Service) ACMEEABs(_ context.Context, a Actor, user string) ([]EABInfo, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	keys, err := s.store.ACMEEABs(user)
	if err != nil {
		return nil, err
	}
	out := make([]EABInfo, len(keys))
	for i, k := range keys {
		out[i] = EABInfo{KeyID: k.ID, User: k.Owner, Created: k.Created, Accounts: k.Accounts}
	}
	return out, nil
}

// RevokeACMEEAB deletes an EAB key, so it binds no new account, and
// deactivates the accounts it bound (RFC 8555 7.3.6: for good); it returns
// how many. Accounts are read per request, so they stop at their next one.
func (s *Service) RevokeACMEEAB(ctx context.Context, a Actor, kid string) (int, error) {
	n, err := 0, mayAdminister(a)
	if err == nil {
		n, err = s.store.RevokeACMEEAB(kid)
		err = s.noteWrite(ctx, err)
	}
	s.audit(ctx, a, "acme.eab.revoke", kid, err)
	return n, err
}

// CheckName proves control of one name for ACME (http-01): the checker
// fetches target on behalf of the actor's user, whose fetches share one
// bound whichever door they come from.
func (s *Service) CheckName(ctx context.Context, a Actor, target challenge.Target) error {
	if s.checker == nil {
		return fmt.Errorf("no challenge checker")
	}
	return s.checker.CheckOne(ctx, a.User, target)
}

// IssueACMEOrder signs a checked CSR (ca.ParseCSR) for the normalized req
// and stores the certificate together with the order it finalizes, in one
// durable commit: fn gets the order as stored and must make it valid with
// the certificate's serial, or refuse, and then nothing is stored. So an
// order is never left half-finalized, whenever the process dies.
func (s *Service) IssueACMEOrder(ctx context.Context, a Actor, csr *x509.CertificateRequest, req *ca.Request, orderID string,
	fn func(o *storage.ACMEOrder, c *storage.Certificate) error) (*storage.Certificate, storage.ACMEOrder, error) {
	c, o, err := s.issueACMEOrder(ctx, a, csr, req, orderID, fn)
	s.auditIssue(ctx, a, "certificate.issue", c, err)
	return c, o, err
}

func (s *Service) issueACMEOrder(ctx context.Context, a Actor, csr *x509.CertificateRequest, req *ca.Request, orderID string,
	fn func(o *storage.ACMEOrder, c *storage.Certificate) error) (*storage.Certificate, storage.ACMEOrder, error) {
	if a.Door != DoorACME || a.User == "" {
		return nil, storage.ACMEOrder{}, Errorf(Invalid, "%w: an ACME order's certificate needs an ACME account and its user", ErrInvalid)
	}
	start := time.Now()
	c, err := s.sign(ctx, a.User, req, "", csr.PublicKey)
	if err != nil {
		return nil, storage.ACMEOrder{}, err
	}
	o, err := s.store.PutACMECertificate(orderID, c, func(o *storage.ACMEOrder) error { return fn(o, c) })
	if err := s.noteWrite(ctx, err); err != nil {
		return nil, o, fmt.Errorf("storing certificate: %w", err)
	}
	s.metrics.observeIssued(c.KeyType, start)
	return c, o, nil
}
