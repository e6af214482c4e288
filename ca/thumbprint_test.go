package ca_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/ca"
)

// TestThumbprint_RFC7638 is the example of RFC 7638 section 3.1.
func TestThumbprint_RFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ca.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("thumbprint %s, want %s", got, want)
	}
}

// TestThumbprint_AsJOSE: every key type an ACME account may have gets the
// thumbprint go-jose computes, which is what clients put in their key
// authorizations.
func TestThumbprint_AsJOSE(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for name, pub := range map[string]crypto.PublicKey{
		"P-256": &p256.PublicKey, "P-384": &p384.PublicKey, "RSA": &rsaKey.PublicKey, "Ed25519": edPub,
	} {
		want, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ca.Thumbprint(pub)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != base64.RawURLEncoding.EncodeToString(want) {
			t.Errorf("%s: thumbprint %s, go-jose says %s", name, got, base64.RawURLEncoding.EncodeToString(want))
		}
	}
	if _, err := ca.Thumbprint("not a key"); err == nil {
		t.Error("a string has a thumbprint")
	}
}
