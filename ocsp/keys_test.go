package ocsp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

// TestResponder_KeyTypes signs with each kind of root key certmaker may hold.
func TestResponder_KeyTypes(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		key    crypto.Signer
		sigAlg x509.SignatureAlgorithm
	}{
		{"ECDSA-P384", p384, x509.ECDSAWithSHA384},
		{"RSA-2048", rsaKey, x509.SHA256WithRSA},
		{"Ed25519", edKey, x509.UnknownSignatureAlgorithm}, // x/crypto/ocsp knows no Ed25519
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			rt := newRootWithKey(t, tt.name, tt.key)
			f.setIssuers(rt.issuer())
			leaf := f.good(t, rt, big.NewInt(99))
			resp, _, err := f.r.Respond(requestFor(t, leaf, rt.cert, crypto.SHA256))
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := xocsp.ParseResponseForCert(resp, leaf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Status != xocsp.Good || parsed.SignatureAlgorithm != tt.sigAlg {
				t.Errorf("status %d algorithm %v, want good and %v", parsed.Status, parsed.SignatureAlgorithm, tt.sigAlg)
			}
			if ed, ok := tt.key.Public().(ed25519.PublicKey); ok {
				if !ed25519.Verify(ed, parsed.TBSResponseData, parsed.Signature) {
					t.Error("Ed25519 signature does not verify")
				}
				return
			}
			if err := parsed.CheckSignatureFrom(rt.cert); err != nil {
				t.Errorf("signature: %v", err)
			}
		})
	}
}
