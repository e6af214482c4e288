package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"certmaker/store"
)

// newCert makes a certificate record with a random serial and a server-made
// key. It never fails, so writer goroutines may call it.
func newCert(owner string) *store.Certificate {
	now := time.Now()
	return &store.Certificate{
		Serial:   newSerial(),
		DER:      randomBytes(300),
		Owner:    owner,
		Root:     "3f1a9c",
		KeyPKCS8: randomBytes(138),
		KeyType:  "ecdsa-p256",
		Names:    []string{owner + ".example.com", "www." + owner + ".example.com"},
		NotAfter: now.Add(90 * 24 * time.Hour),
		Created:  now,
	}
}

func assertCertEqual(t *testing.T, got, want store.Certificate) {
	t.Helper()
	if got.Serial == nil || want.Serial == nil || got.Serial.Cmp(want.Serial) != 0 {
		t.Errorf("Serial = %v, want %v", got.Serial, want.Serial)
	}
	if !bytes.Equal(got.DER, want.DER) {
		t.Errorf("DER differs")
	}
	if got.Owner != want.Owner || got.Root != want.Root || got.KeyType != want.KeyType {
		t.Errorf("Owner/Root/KeyType = %q/%q/%q, want %q/%q/%q", got.Owner, got.Root, got.KeyType, want.Owner, want.Root, want.KeyType)
	}
	if (got.KeyPKCS8 == nil) != (want.KeyPKCS8 == nil) || !bytes.Equal(got.KeyPKCS8, want.KeyPKCS8) {
		t.Errorf("KeyPKCS8 = %x (nil %v), want %x (nil %v)", got.KeyPKCS8, got.KeyPKCS8 == nil, want.KeyPKCS8, want.KeyPKCS8 == nil)
	}
	if !slices.Equal(got.Names, want.Names) {
		t.Errorf("Names = %q, want %q", got.Names, want.Names)
	}
	if !got.NotAfter.Equal(want.NotAfter) || !got.Created.Equal(want.Created) {
		t.Errorf("NotAfter/Created = %v/%v, want %v/%v", got.NotAfter, got.Created, want.NotAfter, want.Created)
	}
	if got.Revoked != want.Revoked || !got.RevokedAt.Equal(want.RevokedAt) || got.Reason != want.Reason {
		t.Errorf("revocation = %v %v %d, want %v %v %d", got.Revoked, got.RevokedAt, got.Reason, want.Revoked, want.RevokedAt, want.Reason)
	}
}

func mustPut(t *testing.T, db *store.DB, c *store.Certificate) {
	t.Helper()
	if err := db.PutCertificate(c); err != nil {
		t.Fatalf("PutCertificate(%s): %v", c.Serial, err)
	}
}

func serialHex(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad serial %q", s)
	}
	return n
}

func TestDB_Certificate(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		db := mustOpen(t)
		var stored []*store.Certificate
		for _, tc := range []struct {
			name   string
			serial *big.Int
			key    bool
		}{
			{"One", big.NewInt(1), true},
			{"TopBitByte", big.NewInt(0x80), true},
			{"TopBit64", serialHex(t, "8000000000000000"), false},
			{"TopBit136", serialHex(t, "ff00000000000000000000000000000001"), true},
			{"TopBit160", serialHex(t, "ffffffffffffffffffffffffffffffffffffffff"), false},
			{"Random", newSerial(), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newCert("alice")
				c.Serial = tc.serial
				if !tc.key {
					c.KeyPKCS8 = nil
				}
				mustPut(t, db, c)
				got, err := db.Certificate(new(big.Int).Set(tc.serial))
				if err != nil {
					t.Fatalf("Certificate: %v", err)
				}
				assertCertEqual(t, got, *c)
				if !tc.key && got.KeyPKCS8 != nil {
					t.Errorf("KeyPKCS8 = %x, want nil for a CSR certificate", got.KeyPKCS8)
				}
				stored = append(stored, c)
			})
		}
		// Serials that share a suffix or a value in another width stay apart.
		if len(stored) != 6 {
			t.Fatalf("stored %d certificates, want 6", len(stored))
		}
		db = reopen(t, db)
		for _, want := range stored {
			got, err := db.Certificate(want.Serial)
			if err != nil {
				t.Fatalf("after reopen, Certificate(%x): %v", want.Serial, err)
			}
			assertCertEqual(t, got, *want)
		}
	})

	t.Run("Exists", func(t *testing.T) {
		db := mustOpen(t)
		first := newCert("alice")
		mustPut(t, db, first)
		second := newCert("bob")
		second.Serial = new(big.Int).Set(first.Serial)
		if err := db.PutCertificate(second); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate serial: err = %v, want ErrExists", err)
		}
		got, err := db.Certificate(first.Serial)
		if err != nil {
			t.Fatal(err)
		}
		assertCertEqual(t, got, *first)
		if n, _ := db.CountCertificates("bob"); n != 0 {
			t.Errorf("refused duplicate left %d owner index entries for bob", n)
		}
	})

	t.Run("BadSerial", func(t *testing.T) {
		db := mustOpen(t)
		for _, s := range []*big.Int{nil, big.NewInt(0), big.NewInt(-1), serialHex(t, "-ff00000000000000000000000000000001")} {
			c := newCert("alice")
			c.Serial = s
			if err := db.PutCertificate(c); err == nil {
				t.Errorf("PutCertificate with serial %v succeeded", s)
			}
		}
		if n, _ := db.CountCertificates("alice"); n != 0 {
			t.Errorf("refused serials left %d index entries", n)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		db := mustOpen(t)
		c := newCert("alice")
		c.Serial = big.NewInt(5)
		mustPut(t, db, c)
		for _, s := range []*big.Int{big.NewInt(6), newSerial(), big.NewInt(0), nil, big.NewInt(-5)} {
			got, err := db.Certificate(s)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Certificate(%v) = %v, %v; want ErrNotFound", s, got.Serial, err)
			}
		}
	})
}

func TestDB_Revoke(t *testing.T) {
	t.Run("Once", func(t *testing.T) {
		db := mustOpen(t)
		c := newCert("alice")
		mustPut(t, db, c)
		at := time.Date(2031, 3, 4, 5, 6, 7, 8, time.FixedZone("CET", 3600))
		got, err := db.Revoke(c.Serial, at, 1)
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if !got.Revoked || !got.RevokedAt.Equal(at) || got.Reason != 1 {
			t.Errorf("Revoke returned %v %v %d", got.Revoked, got.RevokedAt, got.Reason)
		}
		if got.RevokedAt.Location() != time.UTC {
			t.Errorf("RevokedAt in %v, want UTC", got.RevokedAt.Location())
		}
		stored, err := db.Certificate(c.Serial)
		if err != nil {
			t.Fatal(err)
		}
		want := *c
		want.Revoked, want.RevokedAt, want.Reason = true, at, 1
		assertCertEqual(t, stored, want)

		// A second revocation is refused and keeps the first time and reason.
		again, err := db.Revoke(c.Serial, at.Add(time.Hour), 4)
		if !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("second Revoke: err = %v, want ErrRevoked", err)
		}
		if !again.RevokedAt.IsZero() && !again.RevokedAt.Equal(at) {
			t.Errorf("second Revoke returned RevokedAt %v, want the first %v", again.RevokedAt, at)
		}
		db = reopen(t, db)
		stored, err = db.Certificate(c.Serial)
		if err != nil {
			t.Fatal(err)
		}
		assertCertEqual(t, stored, want)
	})

	t.Run("ReasonUnspecified", func(t *testing.T) {
		db := mustOpen(t)
		c := newCert("alice")
		mustPut(t, db, c)
		at := time.Now()
		if _, err := db.Revoke(c.Serial, at, 0); err != nil {
			t.Fatal(err)
		}
		got, err := db.Certificate(c.Serial)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Revoked || got.Reason != 0 || !got.RevokedAt.Equal(at) {
			t.Errorf("revocation = %v %v %d, want true %v 0", got.Revoked, got.RevokedAt, got.Reason, at)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		db := mustOpen(t)
		mustPut(t, db, newCert("alice"))
		for _, s := range []*big.Int{newSerial(), nil, big.NewInt(0), big.NewInt(-1)} {
			if _, err := db.Revoke(s, time.Now(), 1); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Revoke(%v): err = %v, want ErrNotFound", s, err)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Revokes go through Batch, which reruns a failing call alone:
		// exactly one of many revokers must win.
		db := mustOpen(t)
		c := newCert("alice")
		mustPut(t, db, c)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []int
		)
		for i := range 10 {
			wg.Go(func() {
				_, err := db.Revoke(c.Serial, time.Unix(int64(1e9+i), 0), i%6)
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, i)
					mu.Unlock()
				case !errors.Is(err, store.ErrRevoked):
					t.Errorf("Revoke: %v", err)
				}
			})
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("%d revokers succeeded, want 1", len(wins))
		}
		got, err := db.Certificate(c.Serial)
		if err != nil {
			t.Fatal(err)
		}
		if w := wins[0]; !got.RevokedAt.Equal(time.Unix(int64(1e9+w), 0)) || got.Reason != w%6 {
			t.Errorf("stored revocation %v/%d is not the winner's (%d)", got.RevokedAt, got.Reason, w)
		}
	})
}

// ownerCerts lists every certificate of owner through ListCertificates,
// page by page.
func ownerCerts(t *testing.T, db *store.DB, owner string) ([]store.Certificate, error) {
	t.Helper()
	var all []store.Certificate
	q := store.ListQuery{Owner: owner, Limit: 100}
	for {
		page, next, err := db.ListCertificates(q)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == nil {
			return all, nil
		}
		q.Before = next
	}
}

// TestDB_ListCertificates_Owner: one owner's listing walks the owner index
// by exact name, never a name it is a prefix of.
func TestDB_ListCertificates_Owner(t *testing.T) {
	db := mustOpen(t)
	want := map[string][]*store.Certificate{}
	// "al" is a prefix of "alice"; "alice" is a prefix of "alice2".
	for owner, n := range map[string]int{"al": 2, "alice": 3, "alice2": 1, "bob": 4} {
		for range n {
			c := newCert(owner)
			mustPut(t, db, c)
			want[owner] = append(want[owner], c)
		}
	}
	check := func(t *testing.T, db *store.DB) {
		t.Helper()
		for _, owner := range []string{"al", "alice", "alice2", "bob", "a", "nobody"} {
			got, err := ownerCerts(t, db, owner)
			if err != nil {
				t.Fatalf("ListCertificates(%q): %v", owner, err)
			}
			if len(got) != len(want[owner]) {
				t.Errorf("ListCertificates(%q) returned %d, want %d", owner, len(got), len(want[owner]))
				continue
			}
			exp := slices.Clone(want[owner])
			sort.Slice(exp, func(i, j int) bool { return exp[i].Serial.Cmp(exp[j].Serial) < 0 })
			sort.Slice(got, func(i, j int) bool { return got[i].Serial.Cmp(got[j].Serial) < 0 })
			for i := range got {
				if got[i].Owner != owner {
					t.Errorf("ListCertificates(%q) returned %s owned by %q", owner, got[i].Serial, got[i].Owner)
				}
				assertCertEqual(t, got[i], *exp[i])
			}
			n, err := db.CountCertificates(owner)
			if err != nil || n != len(want[owner]) {
				t.Errorf("CountCertificates(%q) = %d, %v; want %d", owner, n, err, len(want[owner]))
			}
		}
	}
	t.Run("Open", func(t *testing.T) { check(t, db) })
	t.Run("Reopened", func(t *testing.T) { check(t, reopen(t, db)) })
}

func TestDB_Certificate_Concurrent(t *testing.T) {
	db := mustOpen(t)
	const n = 200
	certs := make([]*store.Certificate, n)
	for i := range certs {
		certs[i] = newCert(fmt.Sprintf("user%d", i%7))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, c := range certs {
		wg.Go(func() {
			<-start
			errs[i] = db.PutCertificate(c)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("PutCertificate #%d: %v", i, err)
		}
	}
	check := func(t *testing.T, db *store.DB) {
		t.Helper()
		for _, c := range certs {
			got, err := db.Certificate(c.Serial)
			if err != nil {
				t.Fatalf("Certificate(%s): %v", c.Serial, err)
			}
			assertCertEqual(t, got, *c)
		}
		total := 0
		for u := range 7 {
			k, err := db.CountCertificates(fmt.Sprintf("user%d", u))
			if err != nil {
				t.Fatal(err)
			}
			total += k
		}
		if total != n {
			t.Errorf("owner index holds %d entries, want %d", total, n)
		}
	}
	check(t, db)
	t.Run("Reopened", func(t *testing.T) { check(t, reopen(t, db)) })
}

func TestDB_Certificate_Copied(t *testing.T) {
	db := mustOpen(t)
	c := newCert("alice")
	want := *c
	want.DER = bytes.Clone(c.DER)
	want.KeyPKCS8 = bytes.Clone(c.KeyPKCS8)
	want.Names = slices.Clone(c.Names)
	want.Serial = new(big.Int).Set(c.Serial)
	mustPut(t, db, c)

	// The caller's record is not kept by reference.
	c.DER[0] ^= 0xff
	c.KeyPKCS8[0] ^= 0xff
	c.Names[0] = "evil.example.com"
	c.Serial.SetInt64(1)

	for round := range 2 {
		got, err := db.Certificate(want.Serial)
		if err != nil {
			t.Fatal(err)
		}
		assertCertEqual(t, got, want)
		// Scribble over everything returned; the next read must not see it.
		for i := range got.DER {
			got.DER[i] = 0
		}
		for i := range got.KeyPKCS8 {
			got.KeyPKCS8[i] = 0
		}
		got.Names[0] = fmt.Sprintf("mutated%d", round)
		got.Serial.SetInt64(7)
	}
	list, err := ownerCerts(t, db, "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListCertificates(alice) = %d, %v", len(list), err)
	}
	list[0].DER[0] ^= 0xff
	list[0].Serial.SetInt64(9)
	got, err := db.Certificate(want.Serial)
	if err != nil {
		t.Fatal(err)
	}
	assertCertEqual(t, got, want)
}
