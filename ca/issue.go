package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"time"
)

// Issued is a freshly signed leaf certificate.
type Issued struct {
	Cert *x509.Certificate
	Root *Root
}

// Sign issues a leaf for pub with the names and validity of req, which must
// have been normalized. It reads the clock once, so NotBefore is "now" and
// NotAfter is exactly the granted number of days later.
func (a *Authority) Sign(req *Request, pub crypto.PublicKey) (*Issued, error) {
	kt, err := KeyTypeOf(pub)
	if err != nil {
		return nil, err
	}
	root, signer, err := a.signer()
	if err != nil {
		return nil, err
	}
	if err := root.permits(req); err != nil {
		return nil, err
	}
	notBefore := a.cfg.Now().UTC().Truncate(time.Second)
	serial, err := newLeafSerial(a.cfg.Rand, notBefore)
	if err != nil {
		return nil, err
	}
	ski, err := leafKeyID(pub)
	if err != nil {
		return nil, err
	}
	notAfter := notBefore.Add(time.Duration(a.Days(req.Days)) * 24 * time.Hour)
	if notAfter.After(root.Cert.NotAfter) {
		// A leaf cannot outlive its root; verifiers would reject it then anyway.
		notAfter = root.Cert.NotAfter
	}
	usage := x509.KeyUsageDigitalSignature
	if kt.IsRSA() {
		// RSA key exchange in TLS 1.2 encrypts to the certificate's key.
		usage |= x509.KeyUsageKeyEncipherment
	}
	ext := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if len(req.Emails) > 0 {
		ext = append(ext, x509.ExtKeyUsageEmailProtection)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject.name(),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
		DNSNames:              req.DNSNames,
		IPAddresses:           netIPs(req.IPs),
		EmailAddresses:        req.Emails,
		SubjectKeyId:          ski,
		OCSPServer:            []string{a.cfg.PublicURL + "/api/ocsp"},
		CRLDistributionPoints: []string{a.cfg.PublicURL + "/api/crl/" + root.Fingerprint},
	}
	if len(req.DNSNames)+len(req.IPs) > 0 && req.Subject.isDomainValidated() {
		tmpl.Policies = []x509.OID{domainValidatedPolicy()}
	}
	der, err := x509.CreateCertificate(a.cfg.Rand, tmpl, root.Cert, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing issued certificate: %w", err)
	}
	return &Issued{Cert: cert, Root: root}, nil
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

// domainValidatedPolicy is the CA/Browser Forum's reserved "domain validated"
// policy, 2.23.140.1.2.1. The Baseline Requirements (7.1.2.7.9) want one
// reserved policy in every subscriber certificate; certmaker has no OID arc of
// its own, and the DV profile is the one whose subject it can honour.
func domainValidatedPolicy() x509.OID {
	oid, _ := x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 1}) // valid arcs: cannot fail
	return oid
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
