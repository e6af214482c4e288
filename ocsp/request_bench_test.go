package ocsp

import (
	"bytes"
	"crypto"
	"math/big"
	"testing"
)

// BenchmarkParseRequest compares the one-pass parser of common requests
// with the general one it falls back to.
func BenchmarkParseRequest(b *testing.B) {
	f := newFixture(b, Config{})
	leaf := f.good(b, f.a, randomSerial(b))
	der := requestFor(b, leaf, f.a.cert, crypto.SHA1)
	b.Run("common", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseRequest(der); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("any", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseAnyRequest(der); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzParseCommonRequest holds the fast parser to its promise: whatever it
// accepts, the general parser accepts too, with the same fields.
func FuzzParseCommonRequest(f *testing.F) {
	rt := newRoot(f, "root")
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		f.Add(buildRequest(f, h, rt.cert, nil, big.NewInt(4242)))
	}
	f.Add(buildRequest(f, crypto.SHA1, rt.cert, nonceValue(f, []byte("0123456789abcdef")), big.NewInt(-5)))
	f.Add(buildRequest(f, crypto.SHA1, rt.cert, nil, big.NewInt(1), big.NewInt(2)))
	f.Add([]byte("\x30\x03\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, der []byte) {
		fast, ok := parseCommonRequest(der)
		if !ok {
			return
		}
		slow, err := parseAnyRequest(der)
		if err != nil {
			t.Fatalf("common parser accepted what the general one refuses: %v", err)
		}
		if fast.hash != slow.hash || !bytes.Equal(fast.nameHash, slow.nameHash) || !bytes.Equal(fast.keyHash, slow.keyHash) ||
			fast.serial.Cmp(slow.serial) != 0 || !bytes.Equal(fast.nonce, slow.nonce) || (fast.nonce == nil) != (slow.nonce == nil) {
			t.Fatalf("parsers differ: %+v vs %+v", fast, slow)
		}
	})
}

// TestParseCommonRequest checks that the requests of real clients take the
// fast path (a request that silently fell back would still work, slower).
func TestParseCommonRequest(t *testing.T) {
	rt := newRoot(t, "root")
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		leaf := &rt.cert // any certificate will do for the CertID
		der := requestFor(t, *leaf, rt.cert, h)
		if _, ok := parseCommonRequest(der); !ok {
			t.Errorf("x/crypto/ocsp request with %v takes the slow path", h)
		}
	}
	if _, ok := parseCommonRequest(buildRequest(t, crypto.SHA256, rt.cert, nonceValue(t, []byte("0123456789abcdef")), big.NewInt(7))); !ok {
		t.Errorf("request with a nonce takes the slow path")
	}
}
