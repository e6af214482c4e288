package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

// Root is a self-signed certificate authority that issues leaves directly.
type Root struct {
	Cert        *x509.Certificate
	Signer      crypto.Signer
	Fingerprint string // lowercase hex SHA-256 of Cert.Raw

	leaf atomic.Pointer[leafProfile] // built on first use (leaf.go)
}

// RootConfig says what a new root looks like.
type RootConfig struct {
	KeyType      KeyType
	Days         int
	CommonName   string
	Organization string
	Country      string
	// Constraints, if any, are written into the root as a critical Name
	// Constraints extension.
	Constraints NameConstraints
}

type certTemplate = x509.Certificate

// Fingerprint is the lowercase hex SHA-256 of a certificate's DER.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// NewRoot generates a key and a self-signed root certificate valid from now.
// The common name gets a short random suffix so that successive roots are
// distinguishable by name, which chain builders and people both rely on.
func NewRoot(cfg RootConfig, now time.Time) (*Root, error) {
	if cfg.Days <= 0 {
		return nil, fmt.Errorf("%w: root days must be positive", ErrInvalid)
	}
	key, err := GenerateKey(cfg.KeyType)
	if err != nil {
		return nil, fmt.Errorf("making root key: %w", err)
	}
	serial, err := NewSerial(rand.Reader)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	subject := Subject{
		CommonName:   fmt.Sprintf("%s %X", cfg.CommonName, ski[:4]),
		Organization: cfg.Organization,
		Country:      cfg.Country,
	}
	if err := subject.check(); err != nil {
		return nil, fmt.Errorf("root subject: %w", err)
	}
	notBefore := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject.name(),
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(time.Duration(cfg.Days) * 24 * time.Hour),
		// digitalSignature because the root signs OCSP responses itself.
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Leaves only: an intermediate under this root would be a second
		// authority that certmaker does not know about.
		MaxPathLen:     0,
		MaxPathLenZero: true,
		SubjectKeyId:   ski,
	}
	cfg.Constraints.apply(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("signing root: %w", err)
	}
	return LoadRoot(der, key)
}

// LoadRoot pairs a stored root certificate with its key, checking that they
// belong together.
func LoadRoot(der []byte, key crypto.Signer) (*Root, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing root: %w", err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("root %s: key does not match certificate", Fingerprint(der))
	}
	return &Root{Cert: cert, Signer: key, Fingerprint: Fingerprint(der)}, nil
}

// subjectKeyID is the SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2
// method 1), the form every verifier and linter expects.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("decoding public key: %w", err)
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}
