package store

import (
	"crypto/rand"
	"math/big"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// benchConns is the concurrency of the parallel benchmarks, the 32
// connections `make load` drives the server with.
const benchConns = 32

func benchOpen(b *testing.B) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "ca.db"), Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}

// benchCert is a record the size of a real one: an ECDSA P-256 leaf with
// OCSP and CRL URLs is about 650 bytes of DER, its PKCS#8 key 138.
func benchCert() *Certificate {
	now := time.Now().UTC().Truncate(time.Second)
	// Laid out as ca makes them (issue time to the microsecond, then 108
	// random bits), so that new records land at the end of the bucket.
	t := time.Now()
	serial := new(big.Int).Lsh(big.NewInt(t.Unix()<<20|int64(t.Nanosecond()/1000)), 108)
	serial.Or(serial, new(big.Int).SetBytes(benchBytes(13)))
	return &Certificate{
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

// BenchmarkPutCertificate is the commit path.
//
//   - update: one certificate per bbolt Update, i.e. the bare cost of a
//     durable (fsync'd) commit on this disk;
//   - serial: PutCertificate from one caller at a time: a group commit of
//     one, which should cost what update does;
//   - parallel: PutCertificate from benchConns callers, whose certificates
//     share commits; ns/op is the amortized cost per certificate.
func BenchmarkPutCertificate(b *testing.B) {
	b.Run("update", func(b *testing.B) {
		db := benchOpen(b)
		for b.Loop() {
			c := benchCert()
			v, err := codec.Encode(c)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.bolt.Update(func(tx *bolt.Tx) error { return putCertificate(tx, c, v) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("serial", func(b *testing.B) {
		db := benchOpen(b)
		for b.Loop() {
			if err := db.PutCertificate(benchCert()); err != nil {
				b.Fatal(err)
			}
		}
	})
	parallel := func(b *testing.B, db *DB) {
		b.SetParallelism(max(1, benchConns/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := db.PutCertificate(benchCert()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) { parallel(b, benchOpen(b)) })
}

// BenchmarkCertificate reads one certificate back among 10,000: the whole
// record, as obtain does, and the status alone, as the OCSP responder does.
func BenchmarkCertificate(b *testing.B) {
	db := benchOpen(b)
	var serials []*big.Int
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for range 10000 {
			c := benchCert()
			// Its key sealed, as PutCertificate stores it: Certificate
			// opens it.
			sc, err := db.sealedCertificate(c)
			if err != nil {
				return err
			}
			v := codec.EncodeCertificate(sc)
			if err := putCertificate(tx, c, v); err != nil {
				return err
			}
			serials = append(serials, c.Serial)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		read func(*big.Int) error
	}{
		{"record", func(s *big.Int) error { _, err := db.Certificate(s); return err }},
		{"status", func(s *big.Int) error { _, err := db.CertificateStatus(s); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := bc.read(serials[i%len(serials)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
