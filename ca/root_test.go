package ca_test

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

// wantSKI is RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey
// BIT STRING's bits, taken from the certificate itself.
func wantSKI(t testing.TB, cert *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) != 0 {
		t.Fatalf("decoding subjectPublicKeyInfo: %v", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:]
}

func TestNewRoot(t *testing.T) {
	root := mustRoot(t, ca.KeyECDSAP256, testNow.Add(123*time.Millisecond))
	c := root.Cert

	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		t.Errorf("issuer %q differs from subject %q", c.Issuer, c.Subject)
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		t.Errorf("basic constraints valid=%v CA=%v, want a CA", c.BasicConstraintsValid, c.IsCA)
	}
	// A two-tier root: no pathLenConstraint (the intermediate's 0 ends
	// every path), and it signs certificates and CRLs, never OCSP.
	if c.MaxPathLen != -1 || c.MaxPathLenZero {
		t.Errorf("path length %d (zero=%v), want none", c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("key usage %b, want %b", c.KeyUsage, want)
	}
	if !root.IsRoot() || root.SignsLeaves() || root.Anchor() != root || len(root.Chain()) != 0 {
		t.Errorf("IsRoot %v, SignsLeaves %v, Anchor itself %v, Chain %d; want a root that signs intermediates only",
			root.IsRoot(), root.SignsLeaves(), root.Anchor() == root, len(root.Chain()))
	}
	if len(c.ExtKeyUsage) != 0 || len(c.UnknownExtKeyUsage) != 0 {
		t.Errorf("root has extended key usages %v %v", c.ExtKeyUsage, c.UnknownExtKeyUsage)
	}
	ski := wantSKI(t, c)
	if !bytes.Equal(c.SubjectKeyId, ski) {
		t.Errorf("subject key id %x, want SHA-1 of the key bits %x", c.SubjectKeyId, ski)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA || c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("algorithms %v / %v, want ECDSA / ECDSA-SHA256", c.PublicKeyAlgorithm, c.SignatureAlgorithm)
	}
	if !c.NotBefore.Equal(testNow) {
		t.Errorf("NotBefore %v, want %v (the clock, to the second)", c.NotBefore, testNow)
	}
	if got, want := c.NotAfter.Sub(c.NotBefore), 3650*24*time.Hour; got != want {
		t.Errorf("validity %v, want %v (ten years)", got, want)
	}
	if len(c.Subject.Country) != 1 || c.Subject.Country[0] != "DE" {
		t.Errorf("subject country %q, want [DE]", c.Subject.Country)
	}
	if len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "certmaker tests" {
		t.Errorf("subject organization %q, want [certmaker tests]", c.Subject.Organization)
	}
	if want := fmt.Sprintf("certmaker Test Root %X", ski[:4]); c.Subject.CommonName != want {
		t.Errorf("common name %q, want %q", c.Subject.CommonName, want)
	}
	if c.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v is not positive", c.SerialNumber)
	}
	sum := sha256.Sum256(c.Raw)
	if root.Fingerprint != hex.EncodeToString(sum[:]) || ca.Fingerprint(c.Raw) != root.Fingerprint {
		t.Errorf("fingerprint %s, want the SHA-256 of the DER", root.Fingerprint)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := root.Signer.Public().(equaler); !ok || !pub.Equal(c.PublicKey) {
		t.Errorf("root signer does not belong to the certificate")
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: poolOf(c), CurrentTime: testNow.Add(time.Hour)}); err != nil {
		t.Errorf("root does not verify as its own anchor: %v", err)
	}
}

func TestNewRoot_DistinctNames(t *testing.T) {
	a := mustRoot(t, ca.KeyECDSAP256, testNow)
	b := mustRoot(t, ca.KeyECDSAP256, testNow)
	if a.Cert.Subject.CommonName == b.Cert.Subject.CommonName {
		t.Errorf("two roots share the common name %q", a.Cert.Subject.CommonName)
	}
	if a.Fingerprint == b.Fingerprint || a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Errorf("two roots share a fingerprint or serial")
	}
}

func TestNewRoot_KeyTypes(t *testing.T) {
	for _, kt := range []ca.KeyType{ca.KeyECDSAP384, ca.KeyRSA2048, ca.KeyEd25519} {
		t.Run(string(kt), func(t *testing.T) {
			root := mustRoot(t, kt, testNow)
			if got, err := ca.KeyTypeOf(root.Cert.PublicKey); err != nil || got != kt {
				t.Errorf("root key type %q, %v; want %s", got, err, kt)
			}
			if err := root.Cert.CheckSignatureFrom(root.Cert); err != nil {
				t.Errorf("root is not self-signed: %v", err)
			}
			if !bytes.Equal(root.Cert.SubjectKeyId, wantSKI(t, root.Cert)) {
				t.Errorf("subject key id is not the SHA-1 of the key bits")
			}
		})
	}
}

func TestNewRoot_Errors(t *testing.T) {
	ok := ca.RootConfig{KeyType: ca.KeyECDSAP256, Days: 3650, CommonName: "Root", Organization: "certmaker", Country: "DE"}
	tests := []struct {
		name   string
		change func(*ca.RootConfig)
		want   error
	}{
		{name: "ZeroDays", change: func(c *ca.RootConfig) { c.Days = 0 }, want: ca.ErrInvalid},
		{name: "NegativeDays", change: func(c *ca.RootConfig) { c.Days = -1 }, want: ca.ErrInvalid},
		{name: "UnknownKeyType", change: func(c *ca.RootConfig) { c.KeyType = "dsa" }, want: ca.ErrKeyType},
		{name: "CountryThreeLetters", change: func(c *ca.RootConfig) { c.Country = "DEU" }, want: ca.ErrInvalid},
		// The random suffix (9 characters) must fit too.
		{name: "CommonNameTooLong", change: func(c *ca.RootConfig) { c.CommonName = strings.Repeat("r", 56) }, want: ca.ErrInvalid},
		{name: "OrganizationControl", change: func(c *ca.RootConfig) { c.Organization = "cert\nmaker" }, want: ca.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			if r, err := ca.NewRoot(cfg, testNow); !errors.Is(err, tt.want) {
				t.Errorf("NewRoot(%+v) = %v, %v; want %v", cfg, r, err, tt.want)
			}
		})
	}
	cfg := ok
	cfg.CommonName = strings.Repeat("r", 55)
	if _, err := ca.NewRoot(cfg, testNow); err != nil {
		t.Errorf("NewRoot with a 55-character name (64 with suffix): %v", err)
	}
}

func TestLoadRoot(t *testing.T) {
	root := mustRoot(t, ca.KeyECDSAP256, testNow)
	t.Run("Matching", func(t *testing.T) {
		got, err := ca.LoadRoot(root.Cert.Raw, root.Signer)
		if err != nil {
			t.Fatalf("LoadRoot: %v", err)
		}
		if got.Fingerprint != root.Fingerprint || !got.Cert.Equal(root.Cert) {
			t.Errorf("LoadRoot gave another root")
		}
	})
	for _, kt := range []ca.KeyType{ca.KeyECDSAP256, ca.KeyEd25519} {
		t.Run("MismatchedKey/"+string(kt), func(t *testing.T) {
			if r, err := ca.LoadRoot(root.Cert.Raw, mustKey(t, kt)); err == nil {
				t.Errorf("LoadRoot with a foreign %s key = %v, want an error", kt, r)
			}
		})
	}
	t.Run("Garbage", func(t *testing.T) {
		if r, err := ca.LoadRoot([]byte("not DER"), root.Signer); err == nil {
			t.Errorf("LoadRoot(garbage) = %v, want an error", r)
		}
	})
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// TestNewRoot_OneTier is the root certmaker made before intermediates: the
// shape of every root in an older database, which must keep signing.
func TestNewRoot_OneTier(t *testing.T) {
	root, err := ca.NewRoot(ca.RootConfig{KeyType: ca.KeyECDSAP256, Days: 3650, CommonName: "old", Country: "DE", OneTier: true}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c := root.Cert; c.MaxPathLen != 0 || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("path length %d (zero=%v), key usage %b; want 0 and digitalSignature", c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage)
	}
	if !root.SignsLeaves() {
		t.Error("a one-tier root does not sign leaves")
	}
	// It cannot have an intermediate: every verifier would reject the path.
	if _, err := ca.NewIntermediate(root, ca.RootConfig{KeyType: ca.KeyECDSAP256, IntermediateDays: 30}, testURL, testNow); !errors.Is(err, ca.ErrInvalid) {
		t.Errorf("NewIntermediate under a one-tier root = %v, want ErrInvalid", err)
	}
	a := mustAuthority(t, testNow, root)
	leaf := mustSign(t, a, &ca.Request{DNSNames: []string{"app.example.com"}}, mustKey(t, ca.KeyECDSAP256).Public())
	if _, err := verifyFor(t, leaf, "app.example.com", testNow.Add(time.Hour), root.Cert); err != nil {
		t.Errorf("a one-tier root's leaf does not verify against it: %v", err)
	}
}

func TestNewIntermediate(t *testing.T) {
	iss := mustIssuer(t, ca.KeyECDSAP256, testNow)
	root, c := iss.Parent, iss.Cert
	if err := c.CheckSignatureFrom(root.Cert); err != nil {
		t.Errorf("intermediate not signed by its root: %v", err)
	}
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA %v, path length %d (zero=%v); want a CA with path length 0", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature; c.KeyUsage != want {
		t.Errorf("key usage %b, want %b", c.KeyUsage, want)
	}
	if !bytes.Equal(c.AuthorityKeyId, root.Cert.SubjectKeyId) || !bytes.Equal(c.SubjectKeyId, wantSKI(t, c)) {
		t.Errorf("key identifiers: AKI %x (root SKI %x), SKI %x", c.AuthorityKeyId, root.Cert.SubjectKeyId, c.SubjectKeyId)
	}
	if want := []string{testURL + "/api/issuer/" + root.Fingerprint + ".crt"}; !slices.Equal(c.IssuingCertificateURL, want) {
		t.Errorf("caIssuers %q, want %q", c.IssuingCertificateURL, want)
	}
	if want := []string{testURL + "/api/crl/" + root.Fingerprint}; !slices.Equal(c.CRLDistributionPoints, want) {
		t.Errorf("CRL DP %q, want %q", c.CRLDistributionPoints, want)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != 1095*24*time.Hour {
		t.Errorf("validity %v, want three years", got)
	}
	if iss.IsRoot() || !iss.SignsLeaves() || iss.Anchor() != root || len(iss.Chain()) != 1 || !bytes.Equal(iss.Chain()[0], c.Raw) {
		t.Error("the intermediate does not describe itself as one")
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: poolOf(root.Cert), CurrentTime: testNow.Add(time.Hour)}); err != nil {
		t.Errorf("intermediate does not verify under its root: %v", err)
	}

	t.Run("RootOffline", func(t *testing.T) {
		offline, err := ca.LoadRoot(root.Cert.Raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ca.NewIntermediate(offline, ca.RootConfig{KeyType: ca.KeyECDSAP256, IntermediateDays: 30}, testURL, testNow); !errors.Is(err, ca.ErrRootOffline) {
			t.Errorf("NewIntermediate with the root offline = %v, want ErrRootOffline", err)
		}
		if _, err := offline.WithKey(mustKey(t, ca.KeyECDSAP256)); !errors.Is(err, ca.ErrWrongKey) {
			t.Errorf("WithKey(another key) = %v, want ErrWrongKey", err)
		}
		back, err := offline.WithKey(root.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ca.NewIntermediate(back, ca.RootConfig{KeyType: ca.KeyECDSAP256, IntermediateDays: 30}, testURL, testNow); err != nil {
			t.Errorf("NewIntermediate with the root's key given back: %v", err)
		}
	})
}
