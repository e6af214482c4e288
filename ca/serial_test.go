package ca_test

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"testing/iotest"

	"certmaker/ca"
)

func TestNewSerial(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	maxBits := 0
	for range n {
		s, err := ca.NewSerial(rand.Reader)
		if err != nil {
			t.Fatalf("NewSerial: %v", err)
		}
		if s.Sign() <= 0 {
			t.Fatalf("serial %v is not positive", s)
		}
		der, err := asn1.Marshal(s)
		if err != nil {
			t.Fatalf("encoding serial: %v", err)
		}
		// INTEGER tag and a short-form length, then the content octets.
		if content := len(der) - 2; content > 20 {
			t.Errorf("serial %x takes %d octets in DER, RFC 5280 allows 20", s, content)
		}
		key := s.String()
		if seen[key] {
			t.Fatalf("serial %v repeated within %d", s, n)
		}
		seen[key] = true
		maxBits = max(maxBits, s.BitLen())
	}
	// At least 64 bits of CSPRNG output: with 128, the largest of 1000 serials
	// has far more than 64 bits (the odds against are 2^-8000).
	if maxBits <= 120 || maxBits > 128 {
		t.Errorf("largest serial has %d bits, want between 121 and 128", maxBits)
	}
}

func TestNewSerial_FailingReader(t *testing.T) {
	boom := errors.New("entropy source gone")
	tests := []struct {
		name string
		r    io.Reader
	}{
		{name: "ErrorAtOnce", r: iotest.ErrReader(boom)},
		{name: "ShortRead", r: bytes.NewReader([]byte{1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ca.NewSerial(tt.r)
			if err == nil || s != nil {
				t.Fatalf("NewSerial = %v, %v; want an error", s, err)
			}
			if tt.name == "ErrorAtOnce" && !errors.Is(err, boom) {
				t.Errorf("error %v does not wrap the reader's", err)
			}
		})
	}
}

func TestParseSerial(t *testing.T) {
	s, err := ca.NewSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ca.ParseSerial(s.String())
	if err != nil || got.Cmp(s) != 0 {
		t.Errorf("ParseSerial(%s) = %v, %v; want the serial back", s, got, err)
	}
	max20 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1)) // 20 octets of ones
	if got, err := ca.ParseSerial(max20.String()); err != nil || got.Cmp(max20) != 0 {
		t.Errorf("ParseSerial(2^160-1) = %v, %v", got, err)
	}
	for _, in := range []string{"", "0", "-1", "+1", " 1", "1 ", "12a", "0x1f", "1e9",
		new(big.Int).Lsh(big.NewInt(1), 160).String(), strings.Repeat("9", 50)} {
		if got, err := ca.ParseSerial(in); !errors.Is(err, ca.ErrInvalid) {
			t.Errorf("ParseSerial(%q) = %v, %v; want an ErrInvalid", in, got, err)
		}
	}
	// Hex, as openssl prints it: the error gives the decimal id.
	if _, err := ca.ParseSerial("1a:2b"); err == nil || !strings.Contains(err.Error(), "decimal: 6699") {
		t.Errorf("ParseSerial(hex) = %v, want the decimal form in the message", err)
	}
	if _, err := ca.ParseSerial(strings.Repeat("9", 50)); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("ParseSerial(50 digits) = %v, want \"too long\"", err)
	}
}

func TestParseHexSerial(t *testing.T) {
	for in, want := range map[string]int64{"1a:2b": 6699, "0x1A2B": 6699, "1a2b": 6699, "00:ff": 255} {
		if got, err := ca.ParseHexSerial(in); err != nil || got.Int64() != want {
			t.Errorf("ParseHexSerial(%q) = %v, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1234", "xyz", "0x", ":", "00", strings.Repeat("f", 41)} {
		if got, err := ca.ParseHexSerial(in); err == nil {
			t.Errorf("ParseHexSerial(%q) = %v, want an error", in, got)
		}
	}
}
