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
	"math/big"
	"strings"
	"sync/atomic"
	"time"
)

// Issuer is a CA certificate certmaker holds: a self-signed root, or an
// intermediate that a root signed (Parent). An intermediate signs leaves,
// their OCSP answers and their CRL; a root signs only intermediates and
// its own CRL, except a one-tier root (pathLenConstraint 0, made before
// certmaker had intermediates), which signs leaves itself.
type Issuer struct {
	Cert *x509.Certificate
	// Signer is nil while the key is offline: a root kept off the server.
	Signer      crypto.Signer
	Fingerprint string // lowercase hex SHA-256 of Cert.Raw
	// Parent is the root that signed an intermediate; nil for a root.
	Parent *Issuer

	leaf    atomic.Pointer[leafProfile] // built on first use (leaf.go)
	revoked atomic.Pointer[Revoked]     // set once its root's CRL lists it
}

// SetRevoked records that the issuer itself is revoked (its root's CRL
// lists it): the OCSP answers for its leaves say so from then on. Serial
// is the issuer's own.
func (i *Issuer) SetRevoked(at time.Time, reason int) {
	i.revoked.Store(&Revoked{Serial: i.Cert.SerialNumber, At: at, Reason: reason})
}

// Revocation is the issuer's own revocation, if it is revoked.
func (i *Issuer) Revocation() (Revoked, bool) {
	if r := i.revoked.Load(); r != nil {
		return *r, true
	}
	return Revoked{}, false
}

// IsRoot reports whether the issuer is a self-signed root.
func (i *Issuer) IsRoot() bool { return i.Parent == nil }

// SignsLeaves reports whether the issuer signs leaves: an intermediate, or
// a one-tier root, whose pathLenConstraint 0 forbids it any intermediate.
func (i *Issuer) SignsLeaves() bool {
	return i.Parent != nil || (i.Cert.MaxPathLen == 0 && i.Cert.MaxPathLenZero)
}

// Anchor is the root at the top of the issuer's chain: itself for a root.
func (i *Issuer) Anchor() *Issuer {
	for i.Parent != nil {
		i = i.Parent
	}
	return i
}

// Chain is what a leaf of this issuer is served with after itself: the
// intermediate, never a root (relying parties hold the root already, and a
// root sent along would only be ignored or, worse, trusted from the wire).
func (i *Issuer) Chain() [][]byte {
	if i.IsRoot() {
		return nil
	}
	return [][]byte{i.Cert.Raw}
}

// Online reports whether the issuer's key is on the server.
func (i *Issuer) Online() bool { return i.Signer != nil }

// RootConfig says what a new root, and the intermediates under it, look like.
type RootConfig struct {
	KeyType      KeyType
	Days         int
	CommonName   string
	Organization string
	Country      string
	// Constraints, if any, are written into the root and its
	// intermediates as a critical Name Constraints extension.
	Constraints NameConstraints
	// IntermediateDays is the validity of an intermediate (capped at the
	// root's end); IntermediateName its common name, before the suffix.
	IntermediateDays int
	IntermediateName string
	// OneTier makes the root of certmaker before intermediates
	// (pathLenConstraint 0, signing leaves itself); only tests of old
	// databases want it.
	OneTier bool
}

type certTemplate = x509.Certificate

// Fingerprint is the lowercase hex SHA-256 of a certificate's DER: how
// URLs (/api/crl/<fingerprint>) and JSON name a certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Colons writes a Fingerprint as people compare it, the way openssl,
// browsers and phones show it: upper-case pairs joined by colons
// ("3F:A1:...").
func Colons(fingerprint string) string {
	var b strings.Builder
	for i := 0; i+1 < len(fingerprint); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(fingerprint[i : i+2]))
	}
	return b.String()
}

// NewRoot generates a key and a self-signed root certificate valid from now.
// The common name gets a short random suffix so that successive roots are
// distinguishable by name, which chain builders and people both rely on.
func NewRoot(cfg RootConfig, now time.Time) (*Issuer, error) {
	if cfg.Days <= 0 {
		return nil, Invalidf("root days must be positive")
	}
	key, serial, ski, err := newCAKey(cfg.KeyType, "root")
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
		SerialNumber:          serial,
		Subject:               subject.name(),
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(time.Duration(cfg.Days) * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// No pathLenConstraint: the Baseline Requirements advise against
		// one on a root, and the intermediate's own 0 ends every path.
		MaxPathLen:   -1,
		SubjectKeyId: ski,
	}
	if cfg.OneTier {
		// digitalSignature because a one-tier root signs OCSP answers.
		tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
		tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
	}
	cfg.Constraints.apply(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("signing root: %w", err)
	}
	return LoadRoot(der, key)
}

// LoadRoot pairs a stored root certificate with its key, checking that they
// belong together; a nil key is a root whose key is offline.
func LoadRoot(der []byte, key crypto.Signer) (*Issuer, error) {
	return LoadIssuer(der, key, nil)
}

// LoadIssuer pairs a stored CA certificate with its key (nil: offline) and
// the root that signed it (nil for a root), checking that they belong
// together.
func LoadIssuer(der []byte, key crypto.Signer, parent *Issuer) (*Issuer, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	fp := Fingerprint(der)
	if key != nil {
		if err := matches(key, cert); err != nil {
			return nil, fmt.Errorf("CA %s: %w", fp, err)
		}
	}
	if parent != nil {
		if err := cert.CheckSignatureFrom(parent.Cert); err != nil {
			return nil, fmt.Errorf("intermediate %s: not signed by root %s: %w", fp, parent.Fingerprint, err)
		}
	}
	return &Issuer{Cert: cert, Signer: key, Fingerprint: fp, Parent: parent}, nil
}

// matches checks that key is the private half of cert's public key.
func matches(key crypto.Signer, cert *x509.Certificate) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("key does not match certificate")
	}
	return nil
}

// WithKey is the issuer with key as its signer, checked to belong to it:
// an offline root given its key for one operation. The receiver is left
// as it was.
func (i *Issuer) WithKey(key crypto.Signer) (*Issuer, error) {
	if err := matches(key, i.Cert); err != nil {
		return nil, fmt.Errorf("the key is not root %s's: %w", i.Fingerprint, ErrWrongKey)
	}
	return &Issuer{Cert: i.Cert, Signer: key, Fingerprint: i.Fingerprint, Parent: i.Parent}, nil
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

// newCAKey makes what every new CA certificate starts from: a key of type
// kt, a serial, and the key's Subject Key Identifier. what names the CA in
// errors ("root", "intermediate").
func newCAKey(kt KeyType, what string) (crypto.Signer, *big.Int, []byte, error) {
	key, err := GenerateKey(kt)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("making %s key: %w", what, err)
	}
	serial, err := NewSerial(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, nil, err
	}
	return key, serial, ski, nil
}
