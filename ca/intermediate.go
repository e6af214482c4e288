package ca

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// anyPolicy is what an intermediate asserts: it restricts no policy of the
// leaves under it (Baseline Requirements 7.1.2.10.5 allow it for a CA run
// by the root's own operator).
var anyPolicy = mustOID(2, 5, 29, 32, 0)

func mustOID(ids ...uint64) x509.OID {
	oid, err := x509.OIDFromInts(ids)
	if err != nil {
		panic(err)
	}
	return oid
}

// The URLs certificates carry: base is the plain-HTTP base (RFC 5019 wants
// OCSP over HTTP, and a relying party fetching a CRL or an issuer must not
// need TLS that itself needs them).
func ocspURL(base string) string           { return base + "/api/ocsp" }
func crlURL(base, issuer string) string    { return base + "/api/crl/" + issuer }
func issuerURL(base, issuer string) string { return base + "/api/issuer/" + issuer + ".crt" }

// NewIntermediate generates a key and an intermediate certificate signed by
// root, valid from now for cfg.IntermediateDays (at most until the root
// ends). It carries the root's name constraints too, so that no chain
// through it depends on a verifier reading the root's. base is the
// plain-HTTP base of the root's CRL and certificate URLs.
func NewIntermediate(root *Issuer, cfg RootConfig, base string, now time.Time) (*Issuer, error) {
	if !root.IsRoot() {
		return nil, Invalidf("%s is not a root", root.Fingerprint)
	}
	if root.SignsLeaves() {
		return nil, Invalidf("root %s is a one-tier root (pathLenConstraint 0): it cannot sign an intermediate; rotate-root makes a two-tier one", root.Fingerprint)
	}
	if root.Signer == nil {
		return nil, fmt.Errorf("root %s: %w", root.Fingerprint, ErrRootOffline)
	}
	if cfg.IntermediateDays <= 0 {
		return nil, Invalidf("intermediate days must be positive")
	}
	base = strings.TrimRight(base, "/")
	key, serial, ski, err := newCAKey(cfg.KeyType, "intermediate")
	if err != nil {
		return nil, err
	}
	name := cfg.IntermediateName
	if name == "" {
		name = "certmaker Intermediate CA"
	}
	subject := Subject{
		CommonName:   fmt.Sprintf("%s %X", name, ski[:4]),
		Organization: cfg.Organization,
		Country:      cfg.Country,
	}
	if err := subject.check(); err != nil {
		return nil, fmt.Errorf("intermediate subject: %w", err)
	}
	notBefore := now.UTC().Truncate(time.Second)
	notAfter := notBefore.Add(time.Duration(cfg.IntermediateDays) * 24 * time.Hour)
	if notAfter.After(root.Cert.NotAfter) {
		notAfter = root.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject.name(),
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		// digitalSignature: the intermediate signs OCSP answers itself.
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Leaves only: a CA under it would be one certmaker knows nothing of.
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
		IssuingCertificateURL: []string{issuerURL(base, root.Fingerprint)},
		CRLDistributionPoints: []string{crlURL(base, root.Fingerprint)},
		Policies:              []x509.OID{anyPolicy},
	}
	cfg.Constraints.apply(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, key.Public(), root.Signer)
	if err != nil {
		return nil, fmt.Errorf("signing intermediate: %w", err)
	}
	return LoadIssuer(der, key, root)
}
