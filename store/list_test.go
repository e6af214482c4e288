package store_test

import (
	"sync"
	"testing"
	"time"

	"certmaker/store"
)

// listFixture stores certificates for two owners issued one hour apart,
// oldest first, each valid for i+1 days; returns them in issue order.
func listFixture(t *testing.T, db *store.DB, base time.Time) []*store.Certificate {
	t.Helper()
	var out []*store.Certificate
	for i := range 10 {
		c := newCert([]string{"alice", "bob"}[i%2])
		c.Created = base.Add(time.Duration(i) * time.Hour)
		c.NotAfter = c.Created.Add(time.Duration(i+1) * 24 * time.Hour)
		mustPut(t, db, c)
		out = append(out, c)
	}
	return out
}

func serials(cs []store.Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Serial.String()
	}
	return out
}

func wantSerials(t *testing.T, got []store.Certificate, want ...*store.Certificate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d certificates %v, want %d", len(got), serials(got), len(want))
	}
	for i := range want {
		if got[i].Serial.Cmp(want[i].Serial) != 0 {
			t.Fatalf("position %d: %s, want %s (got %v)", i, got[i].Serial, want[i].Serial, serials(got))
		}
	}
}

func TestDB_ListCertificates(t *testing.T) {
	db := mustOpen(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cs := listFixture(t, db, base)

	t.Run("AllNewestFirst", func(t *testing.T) {
		got, next, err := db.ListCertificates(store.ListQuery{Limit: 100})
		if err != nil || next != nil {
			t.Fatal(err, next)
		}
		wantSerials(t, got, cs[9], cs[8], cs[7], cs[6], cs[5], cs[4], cs[3], cs[2], cs[1], cs[0])
	})
	t.Run("OwnerPaged", func(t *testing.T) {
		page1, next, err := db.ListCertificates(store.ListQuery{Owner: "alice", Limit: 3})
		if err != nil || next == nil {
			t.Fatalf("page 1: %v next=%x", err, next)
		}
		wantSerials(t, page1, cs[8], cs[6], cs[4])
		page2, next, err := db.ListCertificates(store.ListQuery{Owner: "alice", Limit: 3, Before: next})
		if err != nil || next != nil {
			t.Fatalf("page 2: %v next=%x", err, next)
		}
		wantSerials(t, page2, cs[2], cs[0])
	})
	t.Run("OwnerPrefixIsNotAnotherOwner", func(t *testing.T) {
		c := newCert("al")
		c.Created = base.Add(100 * time.Hour)
		mustPut(t, db, c)
		got, _, err := db.ListCertificates(store.ListQuery{Owner: "al", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		wantSerials(t, got, c)
		got, _, _ = db.ListCertificates(store.ListQuery{Owner: "alice", Limit: 100})
		if len(got) != 5 {
			t.Errorf("alice has %d, want 5", len(got))
		}
	})
	t.Run("Expiring", func(t *testing.T) {
		// cs[i] expires at base + i h + (i+1) days.
		from, to := base.Add(3*24*time.Hour), base.Add(6*24*time.Hour)
		got, _, err := db.ListCertificates(store.ListQuery{ExpiringAfter: from, ExpiringBefore: to, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		wantSerials(t, got, cs[2], cs[3], cs[4])
		got, _, _ = db.ListCertificates(store.ListQuery{Owner: "bob", ExpiringAfter: from, ExpiringBefore: to, Limit: 100})
		wantSerials(t, got, cs[3])
		if n, err := db.CountExpiring(from, to); err != nil || n != 3 {
			t.Errorf("CountExpiring %d %v, want 3", n, err)
		}
	})
	t.Run("RevokedLeavesExpiryAndJoinsRevoked", func(t *testing.T) {
		if _, err := db.Revoke(cs[3].Serial, base, 1); err != nil {
			t.Fatal(err)
		}
		from, to := base.Add(3*24*time.Hour), base.Add(6*24*time.Hour)
		got, _, _ := db.ListCertificates(store.ListQuery{ExpiringAfter: from, ExpiringBefore: to, Limit: 100})
		wantSerials(t, got, cs[2], cs[4])
		got, _, err := db.ListCertificates(store.ListQuery{RevokedOnly: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		wantSerials(t, got, cs[3])
		got, _, _ = db.ListCertificates(store.ListQuery{RevokedOnly: true, Owner: "alice", Limit: 100})
		wantSerials(t, got)
	})
	t.Run("SurvivesReopen", func(t *testing.T) {
		db = reopen(t, db)
		got, _, err := db.ListCertificates(store.ListQuery{Owner: "bob", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		wantSerials(t, got, cs[9], cs[7])
		if n, _ := db.CountAllCertificates(); n != 11 {
			t.Errorf("CountAllCertificates %d, want 11", n)
		}
	})
	t.Run("BadLimit", func(t *testing.T) {
		if _, _, err := db.ListCertificates(store.ListQuery{}); err == nil {
			t.Error("zero limit accepted")
		}
	})
}

// A filter its index does not answer must not read the whole range for
// one page: it stops after MaxScan records and hands back a cursor to go
// on from.
func TestDB_ListCertificates_BoundedScan(t *testing.T) {
	db := mustOpen(t)
	const n = store.MaxScan + 10
	fillMany(t, db, n, "alice")
	q := store.ListQuery{Name: "alice.example.com", RevokedOnly: true, Limit: 50}
	got, next, err := db.ListCertificates(q)
	if err != nil || len(got) != 0 || next == nil {
		t.Fatalf("first page: %d certificates, next=%x, %v; want none and a cursor", len(got), next, err)
	}
	q.Before = next
	got, next, err = db.ListCertificates(q)
	if err != nil || len(got) != 0 || next != nil {
		t.Fatalf("second page: %d certificates, next=%x, %v; want none and the end", len(got), next, err)
	}
	all, next, err := db.ListCertificates(store.ListQuery{Owner: "alice", Limit: 3})
	if err != nil || len(all) != 3 || next == nil || !all[0].Created.Equal(time.Unix(0, n*int64(time.Millisecond))) {
		t.Fatalf("newest first: %v %x %v", len(all), next, err)
	}
}

// fillMany stores n certificates of owner, issued a millisecond apart,
// from 50 writers so that commits group them.
func fillMany(t *testing.T, db *store.DB, n int, owner string) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 50 {
				c := newCert(owner)
				c.Created = time.Unix(0, int64(i+1)*int64(time.Millisecond))
				if err := db.PutCertificate(c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
