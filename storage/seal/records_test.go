package seal_test

import (
	"bytes"
	"math/big"
	"testing"

	"certmaker/storage"
	"certmaker/storage/seal"
)

// TestItem: an import item's secrets are sealed to the kind and identity
// of their record (what the backends' own writes seal them to), the item
// it came from is left open, and a record without a secret passes as it is.
func TestItem(t *testing.T) {
	k, _ := mustKeyring(t)
	secret := []byte("secret")
	cases := []struct {
		name     string
		it       storage.Item
		sealed   func(storage.Item) []byte
		kind, id string
	}{
		{"root", storage.Item{Root: &storage.Root{Fingerprint: "fp", KeyPKCS8: secret}},
			func(it storage.Item) []byte { return it.Root.KeyPKCS8 }, seal.CAKey, "fp"},
		{"eab", storage.Item{ACMEEAB: &storage.ACMEEAB{ID: "kid", Key: secret}},
			func(it storage.Item) []byte { return it.ACMEEAB.Key }, seal.EABKey, "kid"},
		{"nonce key", storage.Item{ACMENonceKey: secret},
			func(it storage.Item) []byte { return it.ACMENonceKey }, seal.NonceKey, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := seal.Item(k.Seal, c.it)
			if err != nil {
				t.Fatal(err)
			}
			v := c.sealed(got)
			if bytes.Equal(v, secret) || !bytes.Equal(c.sealed(c.it), secret) {
				t.Fatalf("sealed %q, given item now %q", v, c.sealed(c.it))
			}
			if open, err := k.Open(c.kind, c.id, v); err != nil || !bytes.Equal(open, secret) {
				t.Fatalf("Open(%s, %q) = %q, %v", c.kind, c.id, open, err)
			}
		})
	}
	root := storage.Item{Root: &storage.Root{Fingerprint: "fp"}}
	if got, err := seal.Item(k.Seal, root); err != nil || got.Root.KeyPKCS8 != nil {
		t.Fatalf("a root without a key: %v, %v", got.Root.KeyPKCS8, err)
	}
}

// TestCertificate: a certificate's key is sealed to its serial, and one
// without a positive serial is refused rather than sealed to nothing.
func TestCertificate(t *testing.T) {
	k, _ := mustKeyring(t)
	c := storage.Certificate{Serial: big.NewInt(0xabc), KeyPKCS8: []byte("key")}
	if err := seal.Certificate(k.Seal, &c); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(seal.CertificateKey, seal.CertificateIdentity(big.NewInt(0xabd)), c.KeyPKCS8); err == nil {
		t.Error("a certificate's key opened for another serial")
	}
	if err := seal.Certificate(k.Open, &c); err != nil || string(c.KeyPKCS8) != "key" {
		t.Fatalf("opened %q, %v", c.KeyPKCS8, err)
	}
	for _, serial := range []*big.Int{nil, big.NewInt(0), big.NewInt(-1)} {
		bad := storage.Certificate{Serial: serial, KeyPKCS8: []byte("key")}
		if err := seal.Certificate(k.Seal, &bad); err == nil {
			t.Errorf("serial %v: sealed", serial)
		}
	}
}
