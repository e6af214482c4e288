package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// Issued is a freshly signed leaf certificate.
type Issued struct {
	DER                 []byte
	Serial              *big.Int
	NotBefore, NotAfter time.Time
	Issuer              *Issuer
}

// Parse parses the issued certificate, for callers that need more than
// Issued says; issuing itself never parses what it made.
func (iss *Issued) Parse() (*x509.Certificate, error) {
	return x509.ParseCertificate(iss.DER)
}

// Sign issues a leaf for pub with the names and validity of req, which must
// have been normalized. It reads the clock once, so NotBefore is "now" and
// NotAfter is exactly the granted number of days later.
func (a *Authority) Sign(req *Request, pub crypto.PublicKey) (*Issued, error) {
	kt, err := KeyTypeOf(pub)
	if err != nil {
		return nil, err
	}
	root, err := a.activeIssuer()
	if err != nil {
		return nil, err
	}
	if err := root.permits(req); err != nil {
		return nil, err
	}
	profile, err := root.profile(a.cfg.CertURL)
	if err != nil {
		return nil, err
	}
	l := &leaf{
		dnsNames:        req.DNSNames,
		emails:          req.Emails,
		ips:             req.IPs,
		usage:           x509.KeyUsageDigitalSignature,
		emailProtection: len(req.Emails) > 0,
		domainValidated: len(req.DNSNames)+len(req.IPs) > 0 && req.Subject.isDomainValidated(),
		mustStaple:      req.MustStaple,
	}
	if kt.IsRSA() {
		// RSA key exchange in TLS 1.2 encrypts to the certificate's key.
		l.usage |= x509.KeyUsageKeyEncipherment
	}
	now := a.cfg.Now()
	l.notBefore = now.UTC().Truncate(time.Second)
	l.notAfter = l.notBefore.Add(time.Duration(a.Days(req.Days)) * 24 * time.Hour)
	if l.notAfter.After(root.Cert.NotAfter) {
		// A leaf cannot outlive its issuer; verifiers would reject it then anyway.
		l.notAfter = root.Cert.NotAfter
	}
	if l.serial, err = NewLeafSerial(a.cfg.Rand, now); err != nil {
		return nil, err
	}
	if l.ski, err = leafKeyID(pub); err != nil {
		return nil, err
	}
	if l.spki, err = marshalPublicKey(pub); err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	if l.subject, err = req.Subject.encode(); err != nil {
		return nil, err
	}
	tbs, err := profile.tbs(l)
	if err != nil {
		return nil, fmt.Errorf("encoding certificate: %w", err)
	}
	der, err := profile.sign(root, a.cfg.Rand, tbs)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	return &Issued{DER: der, Serial: l.serial, NotBefore: l.notBefore, NotAfter: l.notAfter, Issuer: root}, nil
}

// leafKeyID is subjectKeyID without the round trip through DER for the key
// types whose subjectPublicKey bits are simply the key's bytes: the
// uncompressed point for ECDSA, the 32 bytes for Ed25519 (RFC 5480, RFC
// 8410). It costs one hash instead of an encoding and a parse per leaf.
func leafKeyID(pub crypto.PublicKey) ([]byte, error) {
	var bits []byte
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("encoding public key: %w", err)
		}
		bits = b
	case ed25519.PublicKey:
		bits = k
	default:
		return subjectKeyID(pub)
	}
	sum := sha1.Sum(bits)
	return sum[:], nil
}

// isDomainValidated reports whether the subject fits the DV profile (BR
// 7.1.2.7.2: common name and country only). A subject with organization or
// address fields gets no policy rather than a DV claim it contradicts or an
// OV claim about data certmaker never verified; so does a certificate for
// email addresses only, which names no domain to have validated.
func (s Subject) isDomainValidated() bool {
	return s.Organization == "" && s.Province == "" && s.Locality == "" &&
		s.StreetAddress == "" && s.PostalCode == ""
}
