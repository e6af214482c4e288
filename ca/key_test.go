package ca_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"

	"certmaker/ca"
)

func TestGenerateKey(t *testing.T) {
	for _, kt := range ca.KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			t.Parallel()
			key := mustKey(t, kt) // the package's only RSA-4096 generation
			got, err := ca.KeyTypeOf(key.Public())
			if err != nil {
				t.Fatalf("KeyTypeOf: %v", err)
			}
			if got != kt {
				t.Errorf("KeyTypeOf(GenerateKey(%s)) = %s", kt, got)
			}
			der, err := ca.MarshalKey(key)
			if err != nil {
				t.Fatalf("MarshalKey: %v", err)
			}
			back, err := ca.ParseKey(der)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if pub, ok := back.Public().(equaler); !ok || !pub.Equal(key.Public()) {
				t.Errorf("ParseKey(MarshalKey(key)) has another public key")
			}
			block, rest := pem.Decode(ca.KeyPEM(der))
			if block == nil || block.Type != "PRIVATE KEY" || len(rest) != 0 || string(block.Bytes) != string(der) {
				t.Errorf("KeyPEM does not wrap the DER in one PRIVATE KEY block")
			}
		})
	}
}

func TestGenerateKey_Unknown(t *testing.T) {
	if k, err := ca.GenerateKey("rsa-1024"); !errors.Is(err, ca.ErrKeyType) || k != nil {
		t.Errorf("GenerateKey(rsa-1024) = %v, %v; want ErrKeyType", k, err)
	}
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ca.KeyType
		wantErr bool
	}{
		{name: "EmptyIsDefault", in: "", want: ca.KeyECDSAP256},
		{name: "ECDSAP256", in: "ecdsa-p256", want: ca.KeyECDSAP256},
		{name: "ECDSAP384", in: "ecdsa-p384", want: ca.KeyECDSAP384},
		{name: "RSA2048", in: "rsa-2048", want: ca.KeyRSA2048},
		{name: "RSA3072", in: "rsa-3072", want: ca.KeyRSA3072},
		{name: "RSA4096", in: "rsa-4096", want: ca.KeyRSA4096},
		{name: "Ed25519", in: "ed25519", want: ca.KeyEd25519},
		{name: "RSA1024", in: "rsa-1024", wantErr: true},
		{name: "ECDSAP521", in: "ecdsa-p521", wantErr: true},
		{name: "UpperCase", in: "ECDSA-P256", wantErr: true},
		{name: "Spaces", in: " ed25519", wantErr: true},
		{name: "Garbage", in: "dsa", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ca.ParseKeyType(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ca.ErrKeyType) {
					t.Fatalf("ParseKeyType(%q) = %q, %v; want ErrKeyType", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseKeyType(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if ca.DefaultKeyType != ca.KeyECDSAP256 {
		t.Errorf("DefaultKeyType = %s, API.md says ecdsa-p256", ca.DefaultKeyType)
	}
}

func TestKeyTypeIsRSA(t *testing.T) {
	want := map[ca.KeyType]bool{ca.KeyRSA2048: true, ca.KeyRSA3072: true, ca.KeyRSA4096: true}
	for _, kt := range ca.KeyTypes() {
		if got := kt.IsRSA(); got != want[kt] {
			t.Errorf("%s.IsRSA() = %v", kt, got)
		}
	}
}

func TestKeyTypeOf_Weak(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pub  any
	}{
		{name: "RSA1024", pub: &rsa1024.PublicKey},
		// Only the modulus size is looked at; no need to generate these.
		{name: "RSA2047", pub: &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2046), E: 65537}},
		{name: "RSA8193", pub: &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 8192), E: 65537}},
		{name: "P224", pub: &p224.PublicKey},
		{name: "P521", pub: &p521.PublicKey},
		{name: "PrivateKeyNotPublic", pub: p521},
		{name: "NotAKey", pub: "ssh-ed25519 AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kt, err := ca.KeyTypeOf(tt.pub); !errors.Is(err, ca.ErrWeakKey) {
				t.Errorf("KeyTypeOf(%s) = %q, %v; want ErrWeakKey", tt.name, kt, err)
			}
		})
	}
}

func TestKeyTypeOf_RSASizes(t *testing.T) {
	tests := []struct {
		bits int
		want ca.KeyType
	}{
		{2048, ca.KeyRSA2048},
		{3072, ca.KeyRSA3072},
		{4096, ca.KeyRSA4096},
		{8192, ca.KeyRSA4096},
	}
	for _, tt := range tests {
		pub := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), uint(tt.bits-1)), E: 65537}
		if got, err := ca.KeyTypeOf(pub); err != nil || got != tt.want {
			t.Errorf("KeyTypeOf(RSA-%d) = %q, %v; want %q", tt.bits, got, err, tt.want)
		}
	}
}

func TestParseKey_Garbage(t *testing.T) {
	if k, err := ca.ParseKey([]byte("not a key")); err == nil || k != nil {
		t.Errorf("ParseKey(garbage) = %v, %v; want an error", k, err)
	}
}

// TestMarshalKey_MatchesX509: the hand-encoded ECDSA PKCS#8 is byte for
// byte crypto/x509's, for every curve and for a scalar with leading zero
// bytes (d = 1), which must still be encoded at the curve's full width.
func TestMarshalKey_MatchesX509(t *testing.T) {
	var keys []*ecdsa.PrivateKey
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		for range 20 {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		one := make([]byte, (c.Params().BitSize+7)/8)
		one[len(one)-1] = 1
		k, err := ecdsa.ParseRawPrivateKey(c, one)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		got, err := ca.MarshalKey(k)
		if err != nil {
			t.Fatalf("MarshalKey(%s): %v", k.Curve.Params().Name, err)
		}
		want, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("MarshalKey(%s key) = %x, crypto/x509 says %x", k.Curve.Params().Name, got, want)
		}
	}
}
