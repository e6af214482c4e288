package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// openInternal opens a real database file in t.TempDir() for the tests that
// must write records the way older certmakers did.
func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "ca.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// putRaw stores v as serial's certificate record, bypassing encode.
func putRaw(t *testing.T, db *DB, serial *big.Int, v []byte) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCerts).Put(serialKey(serial), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Records written before the binary format are JSON; their status reads
// the same, from the file, and after a revocation rewrote them.
func TestDB_CertificateStatus_LegacyJSON(t *testing.T) {
	for name, c := range statusCases() {
		t.Run(name, func(t *testing.T) {
			db := openInternal(t)
			serial := big.NewInt(4242)
			putRaw(t, db, serial, legacyJSON(t, c))
			st, err := db.CertificateStatus(serial)
			if err != nil {
				t.Fatalf("CertificateStatus: %v", err)
			}
			if st.Root != c.Root || st.Revoked != c.Revoked || !st.RevokedAt.Equal(c.RevokedAt) || st.Reason != c.Reason {
				t.Errorf("status of a JSON record = %+v, want %q %v %v %d", st, c.Root, c.Revoked, c.RevokedAt, c.Reason)
			}
		})
	}
	t.Run("ThenRevoked", func(t *testing.T) {
		db := openInternal(t)
		c := benchCert()
		// Its key sealed, as the migration to sealed secrets leaves it.
		sealed, err := db.keys.Seal(seal.CertificateKey, seal.CertificateIdentity(c.Serial), c.KeyPKCS8)
		if err != nil {
			t.Fatal(err)
		}
		c.KeyPKCS8 = sealed
		putRaw(t, db, c.Serial, legacyJSON(t, c))
		at := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
		if _, err := db.Revoke(c.Serial, at, 5); err != nil {
			t.Fatal(err)
		}
		st, err := db.CertificateStatus(c.Serial)
		if err != nil || !st.Revoked || !st.RevokedAt.Equal(at) || st.Reason != 5 || st.Root != c.Root {
			t.Errorf("after revoking a JSON record: %+v, %v", st, err)
		}
	})
}

// A damaged record in the file is an error, never a status made of half of
// it, and never ErrNotFound (which would answer "unknown").
func TestDB_CertificateStatus_Damaged(t *testing.T) {
	db := openInternal(t)
	v, _ := codec.Encode(statusCases()["Revoked"])
	for i, bad := range [][]byte{v[:len(v)-1], v[:2], append(bytes.Clone(v), 0), {codec.CertificateV2 + 1, 0}, []byte(`{"v":1,"r":`)} {
		serial := big.NewInt(int64(i + 1))
		putRaw(t, db, serial, bad)
		st, err := db.CertificateStatus(serial)
		if err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("damaged record %x: %+v, %v; want a decoding error", bad, st, err)
		}
	}
}

// statusCases are certificate records that differ in what a status holds.
func statusCases() map[string]*Certificate {
	now := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)
	revoked := benchCert()
	revoked.Revoked, revoked.RevokedAt, revoked.Reason = true, now, 1
	csr := benchCert()
	csr.KeyPKCS8 = nil
	return map[string]*Certificate{
		"Full":      benchCert(),
		"Revoked":   revoked,
		"FromCSR":   csr,
		"BigReason": {Reason: 10, Revoked: true},
	}
}

// legacyJSON encodes a certificate as every record was before the binary
// format: the versioned JSON envelope.
func legacyJSON(tb testing.TB, c *Certificate) []byte {
	tb.Helper()
	b, err := json.Marshal(struct {
		V int          `json:"v"`
		R *Certificate `json:"r"`
	}{codec.Version, c})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
