package core

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"certmaker/ca"
	"certmaker/storage"
)

// ServerOwner owns the certificates the CA issues for its own HTTPS (the
// serve actor's user): they are listed, answered by OCSP and revocable
// like any other.
const ServerOwner = "certmaker"

// RenewAt is when a certificate is due: two thirds into its life, as ACME
// clients renew.
func RenewAt(notBefore, notAfter time.Time) time.Time {
	return notBefore.Add(notAfter.Sub(notBefore) * 2 / 3)
}

// ServerCertificate is the certificate (with its key) this CA serves HTTPS
// with for host: the newest one it issued itself, unrevoked, of the active
// issuer and not yet due; else a new one, issued now for
// certificates.default_days.
func (s *Service) ServerCertificate(ctx context.Context, host string) (*storage.Certificate, error) {
	req := &ca.Request{}
	if ip, err := ca.NormalizeIP(host); err == nil {
		req.IPs = append(req.IPs, ip)
	} else {
		req.DNSNames = []string{host}
	}
	if err := req.Normalize(); err != nil {
		return nil, fmt.Errorf("the public URL's host %q: %w", host, err)
	}
	if c := s.reusableServerCertificate(req); c != nil {
		return c, nil
	}
	a := Actor{Door: DoorServe, User: ServerOwner}
	c, err := s.Issue(ctx, a, req, ca.DefaultKeyType)
	if err != nil {
		return nil, fmt.Errorf("issuing the server's own certificate for %s: %w", host, err)
	}
	return c, nil
}

// reusableServerCertificate finds a server certificate issued before (a
// restart) that still serves: the names asked for, the active issuer,
// unrevoked, with its key, and not due.
func (s *Service) reusableServerCertificate(req *ca.Request) *storage.Certificate {
	active := s.ca.Active()
	if active == nil {
		return nil
	}
	page, _, err := s.store.ListCertificates(storage.ListQuery{Owner: ServerOwner, Limit: 20})
	if err != nil {
		return nil
	}
	want := append(req.Names(), req.Emails...)
	now := s.ca.Now()
	for _, c := range page {
		if c.Revoked || c.KeyPKCS8 == nil || c.Root != active.Fingerprint || !slices.Equal(c.Names, want) {
			continue
		}
		cert, err := x509.ParseCertificate(c.DER)
		if err != nil || !now.Before(RenewAt(cert.NotBefore, cert.NotAfter)) {
			continue
		}
		full, err := s.store.Certificate(c.Serial)
		if err != nil {
			continue
		}
		return &full
	}
	return nil
}
