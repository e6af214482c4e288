package store_test

import (
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"certmaker/store"
)

// assertStatusOf checks that CertificateStatus says what Certificate says.
func assertStatusOf(t *testing.T, db *store.DB, serial *big.Int) store.CertificateStatus {
	t.Helper()
	c, err := db.Certificate(serial)
	if err != nil {
		t.Fatalf("Certificate(%x): %v", serial, err)
	}
	st, err := db.CertificateStatus(serial)
	if err != nil {
		t.Fatalf("CertificateStatus(%x): %v", serial, err)
	}
	if st.Root != c.Root || st.Revoked != c.Revoked || !st.RevokedAt.Equal(c.RevokedAt) || st.Reason != c.Reason {
		t.Errorf("CertificateStatus(%x) = %+v, but the record says root %q revoked %v at %v reason %d",
			serial, st, c.Root, c.Revoked, c.RevokedAt, c.Reason)
	}
	return st
}

func TestDB_CertificateStatus(t *testing.T) {
	t.Run("Good", func(t *testing.T) {
		db := mustOpen(t)
		var stored []*store.Certificate
		for _, tweak := range []func(c *store.Certificate){
			func(c *store.Certificate) {},
			func(c *store.Certificate) { c.KeyPKCS8 = nil },                                // from a CSR
			func(c *store.Certificate) { c.Names = nil },                                   // no names
			func(c *store.Certificate) { c.Names = append(c.Names, "a", "b", "c", "d") },   // many
			func(c *store.Certificate) { c.Serial = big.NewInt(0x80) },                     // top bit set
			func(c *store.Certificate) { c.Serial = new(big.Int).Lsh(big.NewInt(3), 300) }, // longer than any real serial
		} {
			c := newCert("alice")
			tweak(c)
			mustPut(t, db, c)
			st := assertStatusOf(t, db, c.Serial)
			if st.Root != c.Root || st.Revoked || !st.RevokedAt.IsZero() || st.Reason != 0 {
				t.Errorf("CertificateStatus = %+v, want root %q and not revoked", st, c.Root)
			}
			stored = append(stored, c)
		}
		db = reopen(t, db)
		for _, c := range stored {
			assertStatusOf(t, db, c.Serial)
		}
	})

	// The OCSP promise: a revocation shows in the very next read.
	t.Run("Revoked", func(t *testing.T) {
		db := mustOpen(t)
		for _, reason := range []int{0, 1, 4} {
			c := newCert("alice")
			mustPut(t, db, c)
			assertStatusOf(t, db, c.Serial)
			at := time.Date(2031, 3, 4, 5, 6, 7, 8, time.FixedZone("CET", 3600))
			if _, err := db.Revoke(c.Serial, at, reason); err != nil {
				t.Fatal(err)
			}
			st := assertStatusOf(t, db, c.Serial)
			if !st.Revoked || !st.RevokedAt.Equal(at) || st.Reason != reason || st.Root != c.Root {
				t.Errorf("after Revoke(reason %d): %+v", reason, st)
			}
			db = reopen(t, db)
			if again := assertStatusOf(t, db, c.Serial); !again.Revoked || !again.RevokedAt.Equal(at) || again.Reason != reason {
				t.Errorf("after reopen: %+v, want %+v", again, st)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		db := mustOpen(t)
		c := newCert("alice")
		c.Serial = big.NewInt(5)
		mustPut(t, db, c)
		for _, s := range []*big.Int{big.NewInt(6), newSerial(), big.NewInt(0), nil, big.NewInt(-5), new(big.Int).Lsh(big.NewInt(5), 400)} {
			if st, err := db.CertificateStatus(s); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CertificateStatus(%v) = %+v, %v; want ErrNotFound", s, st, err)
			}
		}
	})

	// Readers during a revocation see the record before or after it, never
	// in between (run with -race).
	t.Run("Concurrent", func(t *testing.T) {
		db := mustOpen(t)
		c := newCert("alice")
		mustPut(t, db, c)
		at := time.Unix(2e9, 0).UTC()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 200 {
					st, err := db.CertificateStatus(c.Serial)
					if err != nil {
						t.Error(err)
						return
					}
					if st.Root != c.Root || st.Revoked != st.RevokedAt.Equal(at) || st.Revoked != (st.Reason == 3) {
						t.Errorf("half-revoked status %+v", st)
						return
					}
				}
			})
		}
		if _, err := db.Revoke(c.Serial, at, 3); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if st := assertStatusOf(t, db, c.Serial); !st.Revoked {
			t.Errorf("not revoked after Revoke returned: %+v", st)
		}
	})
}
