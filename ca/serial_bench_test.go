package ca

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// Leaf serials: a time prefix for the store's sake, 108 random bits for
// everything else. These tests hold them to what NewSerial promises.

func TestNewLeafSerial(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"Now", at},
		{"BeforeEpoch", time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"LastSecond", time.Unix(leafSerialEpoch+1<<31-1, 0)},
		{"Wrapped", time.Unix(leafSerialEpoch+1<<31+5, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				s, err := NewLeafSerial(rand.Reader, tc.t)
				if err != nil {
					t.Fatal(err)
				}
				if s.Sign() <= 0 {
					t.Fatalf("serial %v is not positive", s)
				}
				der, err := asn1.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				if content := len(der) - 2; content > 20 {
					t.Fatalf("serial %x takes %d octets in DER, RFC 5280 allows 20", s, content)
				}
				if seen[s.String()] {
					t.Fatalf("serial %v repeated", s)
				}
				seen[s.String()] = true
			}
		})
	}
	// The random part is the low 108 bits, straight from the reader, and
	// the time prefix above it is untouched by it.
	r := bytes.NewReader(bytes.Repeat([]byte{0xff}, 14))
	s, err := NewLeafSerial(r, at.Add(123456*time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	ones := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 108), big.NewInt(1))
	if got := new(big.Int).And(s, ones); got.Cmp(ones) != 0 {
		t.Errorf("random part %x, want 108 one bits", got)
	}
	prefix := new(big.Int).Rsh(s, 108).Uint64()
	if secs, micros := prefix>>20, prefix&(1<<20-1); secs != uint64(at.Unix()-leafSerialEpoch) || micros != 123456 {
		t.Errorf("time prefix says %d s + %d us, want %d s + 123456 us", secs, micros, at.Unix()-leafSerialEpoch)
	}
	if _, err := NewLeafSerial(bytes.NewReader(make([]byte, 13)), at); err == nil {
		t.Errorf("a short random source made a serial")
	}
	if _, err := NewLeafSerial(bytes.NewReader(make([]byte, 14)), time.Unix(leafSerialEpoch, 0)); err == nil {
		t.Errorf("an all-zero serial was made")
	}
}

// Later leaves sort after earlier ones in the store's key order (the
// serial's big-endian bytes), which is the point of the prefix: a
// microsecond apart, across a second's boundary, and seconds apart.
func TestNewLeafSerial_Order(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 999_990_000, time.UTC)
	prev, err := NewLeafSerial(rand.Reader, at)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		step := time.Duration(i) * time.Microsecond
		if i > 50 {
			step = time.Duration(i) * time.Second
		}
		s, err := NewLeafSerial(rand.Reader, at.Add(step))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Bytes()) != len(prev.Bytes()) || bytes.Compare(s.Bytes(), prev.Bytes()) <= 0 {
			t.Fatalf("serial %d steps later %x does not sort after %x", i, s.Bytes(), prev.Bytes())
		}
		prev = s
	}
}

func BenchmarkNewLeafSerial(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		if _, err := NewLeafSerial(rand.Reader, now); err != nil {
			b.Fatal(err)
		}
	}
}
