package ca

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"testing"
	"time"
)

// Leaf serials: a time prefix for the store's sake, 128 random bits for
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
				s, err := newLeafSerial(rand.Reader, tc.t)
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
	// The random part is the full 128 bits from the reader.
	r := bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))
	s, err := newLeafSerial(r, at)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Bytes()[len(s.Bytes())-16:]; !bytes.Equal(got, bytes.Repeat([]byte{0xff}, 16)) {
		t.Errorf("random part %x, want the reader's 16 bytes", got)
	}
	if _, err := newLeafSerial(bytes.NewReader(make([]byte, 15)), at); err == nil {
		t.Errorf("a short random source made a serial")
	}
	if _, err := newLeafSerial(bytes.NewReader(make([]byte, 16)), time.Unix(leafSerialEpoch, 0)); err == nil {
		t.Errorf("an all-zero serial was made")
	}
}

// Later leaves sort after earlier ones in the store's key order (the
// serial's big-endian bytes), which is the point of the prefix.
func TestNewLeafSerial_Order(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	prev, err := newLeafSerial(rand.Reader, at)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		s, err := newLeafSerial(rand.Reader, at.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Bytes()) != len(prev.Bytes()) || bytes.Compare(s.Bytes(), prev.Bytes()) <= 0 {
			t.Fatalf("serial a second later %x does not sort after %x", s.Bytes(), prev.Bytes())
		}
		prev = s
	}
}

func BenchmarkNewLeafSerial(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		if _, err := newLeafSerial(rand.Reader, now); err != nil {
			b.Fatal(err)
		}
	}
}
