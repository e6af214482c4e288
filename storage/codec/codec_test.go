package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"math/big"
	"reflect"
	"testing"
	"time"

	"certmaker/storage"
)

// The certificate record format: benchmarks of both encodings, and the
// tests that keep the binary one honest (it must round-trip every field,
// still read records written as JSON, and refuse damage without panicking).

// legacyJSON encodes a certificate as every record was before the binary
// format: the versioned JSON envelope.
func legacyJSON(tb testing.TB, c *storage.Certificate) []byte {
	tb.Helper()
	b, err := json.Marshal(envelope[*storage.Certificate]{V: Version, R: c})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkRecord is encoding and decoding one certificate record, paid on
// every issuance and on every read (OCSP status, obtain, listings).
func BenchmarkRecord(b *testing.B) {
	c := benchCert()
	bin, err := Encode(c)
	if err != nil {
		b.Fatal(err)
	}
	js := legacyJSON(b, c)
	b.Run("encode/binary", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(bin)), "bytes/record")
	})
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			legacyJSON(b, c)
		}
		b.ReportMetric(float64(len(js)), "bytes/record")
	})
	for name, v := range map[string][]byte{"binary": bin, "json": js} {
		b.Run("decode/"+name, func(b *testing.B) {
			for b.Loop() {
				var got storage.Certificate
				if err := Decode(v, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func recordCases() map[string]*storage.Certificate {
	now := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)
	full := benchCert()
	full.Names = []string{"app.example.com", "192.168.1.20", "ops@example.com"}
	revoked := benchCert()
	revoked.Revoked, revoked.RevokedAt, revoked.Reason = true, now, 1
	csr := benchCert()
	csr.KeyPKCS8 = nil
	zone := benchCert()
	zone.Created = now.In(time.FixedZone("CET", 3600))
	return map[string]*storage.Certificate{
		"Full":      full,
		"Revoked":   revoked,
		"FromCSR":   csr,
		"NoNames":   {DER: []byte{1, 2, 3}, Owner: "bob", Root: "r00t", KeyType: "ed25519", NotAfter: now, Created: now},
		"Empty":     {},
		"OtherZone": zone,
		"BigReason": {Reason: 10, Revoked: true},
	}
}

// sameCert compares two records field by field, times by instant.
func sameCert(t *testing.T, got, want *storage.Certificate) {
	t.Helper()
	g, w := *got, *want
	if !g.NotAfter.Equal(w.NotAfter) || !g.Created.Equal(w.Created) || !g.RevokedAt.Equal(w.RevokedAt) {
		t.Errorf("times = %v %v %v, want %v %v %v", g.NotAfter, g.Created, g.RevokedAt, w.NotAfter, w.Created, w.RevokedAt)
	}
	g.NotAfter, g.Created, g.RevokedAt = time.Time{}, time.Time{}, time.Time{}
	w.NotAfter, w.Created, w.RevokedAt = time.Time{}, time.Time{}, time.Time{}
	if len(g.Names) == 0 && len(w.Names) == 0 {
		g.Names, w.Names = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("record = %+v\nwant     %+v", g, w)
	}
}

func TestCertificateRecord_RoundTrip(t *testing.T) {
	for name, c := range recordCases() {
		t.Run(name, func(t *testing.T) {
			v, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			if v[0] != CertificateV2 {
				t.Fatalf("first byte %#x, want the binary version %d", v[0], CertificateV2)
			}
			got := storage.Certificate{Serial: big.NewInt(7)}
			if err := Decode(v, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.Serial.Int64() != 7 {
				t.Errorf("decode changed the serial, which is the record's key")
			}
			got.Serial = c.Serial
			sameCert(t, &got, c)
			if (got.KeyPKCS8 == nil) != (c.KeyPKCS8 == nil) {
				t.Errorf("key nil = %v, want %v", got.KeyPKCS8 == nil, c.KeyPKCS8 == nil)
			}
			// The value is copied out: bbolt reuses its memory.
			clear(v)
			if len(c.DER) > 0 && !bytes.Equal(got.DER, c.DER) {
				t.Errorf("DER shares memory with the record")
			}
			// An append to DER must not run into the key.
			if len(got.KeyPKCS8) > 0 {
				_ = append(got.DER, 0xff)
				if !bytes.Equal(got.KeyPKCS8, c.KeyPKCS8) {
					t.Errorf("appending to DER overwrote the key")
				}
			}
		})
	}
	// The value form (Revoke encodes one) is the same record.
	c := recordCases()["Revoked"]
	a, _ := Encode(c)
	b, _ := Encode(*c)
	if !bytes.Equal(a, b) {
		t.Errorf("Encode(*c) and Encode(c) differ")
	}
}

// Records written before the binary format are JSON; they must read the same.
func TestCertificateRecord_LegacyJSON(t *testing.T) {
	for name, c := range recordCases() {
		t.Run(name, func(t *testing.T) {
			var fromJSON, fromBinary storage.Certificate
			if err := Decode(legacyJSON(t, c), &fromJSON); err != nil {
				t.Fatalf("decode JSON: %v", err)
			}
			v, _ := Encode(c)
			if err := Decode(v, &fromBinary); err != nil {
				t.Fatalf("decode binary: %v", err)
			}
			sameCert(t, &fromBinary, &fromJSON)
		})
	}
	// The exact bytes of a schema 1 record, as certmaker wrote them.
	old := []byte(`{"v":1,"r":{"der":"AQID","owner":"alice","root":"r00t","key_type":"ecdsa-p256","names":["a.example.com"],"not_after":"2031-01-01T00:00:00Z","created":"2030-01-01T00:00:00Z","revoked":true,"revoked_at":"2030-06-01T00:00:00Z","reason":1}}`)
	var c storage.Certificate
	if err := Decode(old, &c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.DER, []byte{1, 2, 3}) || c.Owner != "alice" || !c.Revoked || c.Reason != 1 || c.KeyPKCS8 != nil ||
		!c.RevokedAt.Equal(time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("legacy record read as %+v", c)
	}
}

func TestCertificateRecord_Damaged(t *testing.T) {
	v, _ := Encode(recordCases()["Revoked"])
	for i := range len(v) {
		var c storage.Certificate
		if err := Decode(v[:i], &c); err == nil {
			t.Errorf("record cut to %d of %d bytes decoded", i, len(v))
		}
	}
	var c storage.Certificate
	if err := Decode(append(bytes.Clone(v), 0), &c); err == nil {
		t.Errorf("record with a trailing byte decoded")
	}
	newer := bytes.Clone(v)
	newer[0] = CertificateV2 + 1
	if err := Decode(newer, &c); err == nil {
		t.Errorf("record of a newer binary format decoded")
	}
	// Other record types are JSON only.
	var u storage.User
	if err := Decode(v, &u); err == nil {
		t.Errorf("binary certificate decoded as a user")
	}
}

func FuzzDecodeCertificate(f *testing.F) {
	for _, c := range recordCases() {
		v, _ := Encode(c)
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var c storage.Certificate
		if err := Decode(v, &c); err != nil || len(v) == 0 || v[0] != CertificateV2 {
			return
		}
		// Whatever decodes must encode back to the same bytes.
		if again := EncodeCertificate(&c); !bytes.Equal(again, v) {
			// Varints have more than one encoding; only a decoded
			// record that changes when re-read is a bug.
			var d storage.Certificate
			if err := Decode(again, &d); err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
			sameCert(t, &d, &c)
		}
	})
}

// benchCert is a record the size of a real one: an ECDSA P-256 leaf with
// OCSP and CRL URLs is about 650 bytes of DER, its PKCS#8 key 138.
func benchCert() *storage.Certificate {
	now := time.Now().UTC().Truncate(time.Second)
	serial := new(big.Int).Lsh(big.NewInt(now.Unix()<<20), 108)
	serial.Or(serial, new(big.Int).SetBytes(benchBytes(13)))
	return &storage.Certificate{
		Serial:   serial,
		DER:      benchBytes(650),
		Owner:    "alice",
		Root:     "093346d442ace458b67e0d2b1a6e481017d435daa5799985f6a670c556dcbe7d",
		KeyPKCS8: benchBytes(138),
		KeyType:  "ecdsa-p256",
		Names:    []string{"app.example.com"},
		NotAfter: now.Add(7 * 24 * time.Hour),
		Created:  now,
	}
}

func benchBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}
