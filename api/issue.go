package api

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	"certmaker/ca"
	"certmaker/store"
)

// sign runs the issuing pipeline up to, not including, the commit: make the
// key if the server is to hold it, sign with the active root, and build the
// record to store. pub is the CSR's key; nil means generate one of type kt.
func (s *Server) sign(ctx context.Context, owner string, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey) (*store.Certificate, error) {
	var keyDER []byte
	if pub == nil {
		key, err := s.generateKey(ctx, kt)
		if err != nil {
			return nil, fmt.Errorf("generating key: %w", err)
		}
		if keyDER, err = ca.MarshalKey(key); err != nil {
			return nil, err
		}
		pub = key.Public()
	}
	issued, err := s.ca.Sign(req, pub)
	if err != nil {
		return nil, err
	}
	kt, err = ca.KeyTypeOf(pub)
	if err != nil {
		return nil, err
	}
	return &store.Certificate{
		Serial:   issued.Serial,
		DER:      issued.DER,
		Owner:    owner,
		Root:     issued.Root.Fingerprint,
		KeyPKCS8: keyDER,
		KeyType:  string(kt),
		Names:    append(req.Names(), req.Emails...),
		NotAfter: issued.NotAfter,
		// Not NotBefore: that is whole seconds, and listings order by this.
		Created: s.ca.Now().UTC(),
	}, nil
}

// Issue makes a key of type kt and a certificate for the normalized req,
// and stores both durably for owner before it returns.
func (s *Server) Issue(ctx context.Context, owner string, req *ca.Request, kt ca.KeyType) (*store.Certificate, error) {
	return s.issue(ctx, owner, req, kt, nil)
}

// IssueCSR signs a checked CSR (ca.ParseCSR) for the normalized req and
// stores the certificate durably for owner before it returns.
func (s *Server) IssueCSR(ctx context.Context, owner string, csr *x509.CertificateRequest, req *ca.Request) (*store.Certificate, error) {
	return s.issue(ctx, owner, req, "", csr.PublicKey)
}

// issue signs and durably stores; nothing is answered before the commit.
func (s *Server) issue(ctx context.Context, owner string, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey) (*store.Certificate, error) {
	start := time.Now()
	c, err := s.sign(ctx, owner, req, kt, pub)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutCertificate(c); err != nil {
		return nil, fmt.Errorf("storing certificate: %w", err)
	}
	s.observeIssued(c, start)
	return c, nil
}

// observeIssued counts a committed certificate and how long it took.
func (s *Server) observeIssued(c *store.Certificate, start time.Time) {
	s.metrics.issuance.WithLabelValues(c.KeyType).Observe(time.Since(start).Seconds())
	s.metrics.issued.WithLabelValues(c.KeyType).Inc()
}
