package store_test

import (
	"slices"
	"testing"
	"time"

	"certmaker/store"
)

// expiryFixture stores, at now: for alice one expired, one ending exactly
// at now (expired too), one in each of the first three days, one revoked
// and one far out; for bob two in the second day.
func expiryFixture(t *testing.T, db *store.DB, now time.Time) {
	t.Helper()
	n := 0
	put := func(owner string, notAfter time.Time, revoke bool) {
		c := newCert(owner)
		// Issued in this order, a minute apart.
		n++
		c.Created, c.NotAfter = now.Add(-time.Hour+time.Duration(n)*time.Minute), notAfter
		mustPut(t, db, c)
		if revoke {
			if _, err := db.Revoke(c.Serial, now, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("alice", now.Add(-48*time.Hour), false)
	put("alice", now, false)
	put("alice", now.Add(time.Hour), false)
	put("alice", now.Add(25*time.Hour), false)
	put("alice", now.Add(49*time.Hour), false)
	put("alice", now.Add(30*time.Hour), true)
	put("alice", now.Add(100*24*time.Hour), false)
	put("bob", now.Add(24*time.Hour), false)
	put("bob", now.Add(47*time.Hour), false)
}

func TestDB_CountExpiry(t *testing.T) {
	db := mustOpen(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expiryFixture(t, db, now)
	day := func(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }
	bounds := []time.Time{day(1), day(2), day(3)}

	tests := []struct {
		name  string
		q     store.ExpiryQuery
		want  store.ExpiryCounts
		total int
	}{
		{"Everyone", store.ExpiryQuery{Now: now, Bounds: bounds, Max: 100},
			store.ExpiryCounts{Expired: 2, Periods: []int{1, 3, 1}, Later: 1, Revoked: 1}, 9},
		{"Owner", store.ExpiryQuery{Owner: "alice", Now: now, Bounds: bounds, Max: 100},
			store.ExpiryCounts{Expired: 2, Periods: []int{1, 1, 1}, Later: 1, Revoked: 1}, 7},
		{"OtherOwner", store.ExpiryQuery{Owner: "bob", Now: now, Bounds: bounds, Max: 100},
			store.ExpiryCounts{Periods: []int{0, 2, 0}}, 2},
		// Counters answer whatever Max says: nothing is left uncounted.
		{"EveryoneSmallMax", store.ExpiryQuery{Now: now, Bounds: bounds, Max: 3},
			store.ExpiryCounts{Expired: 2, Periods: []int{1, 3, 1}, Later: 1, Revoked: 1}, 9},
		{"OwnerSmallMax", store.ExpiryQuery{Owner: "alice", Now: now, Bounds: bounds, Max: 2},
			store.ExpiryCounts{Expired: 2, Periods: []int{1, 1, 1}, Later: 1, Revoked: 1}, 7},
		{"NoOne", store.ExpiryQuery{Owner: "carol", Now: now, Bounds: bounds, Max: 100},
			store.ExpiryCounts{Periods: []int{0, 0, 0}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.CountExpiry(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Expired != tt.want.Expired || !slices.Equal(got.Periods, tt.want.Periods) || got.Later != tt.want.Later ||
				got.Revoked != tt.want.Revoked || got.Uncounted != tt.want.Uncounted {
				t.Errorf("CountExpiry = %+v, want %+v", got, tt.want)
			}
			sum := got.Expired + got.Later + got.Revoked + got.Uncounted
			for _, n := range got.Periods {
				sum += n
			}
			if sum != tt.total {
				t.Errorf("counts add up to %d, want %d certificates", sum, tt.total)
			}
		})
	}

	t.Run("BadQuery", func(t *testing.T) {
		if _, err := db.CountExpiry(store.ExpiryQuery{Now: now, Bounds: bounds}); err == nil {
			t.Error("no max: no error")
		}
		if _, err := db.CountExpiry(store.ExpiryQuery{Now: now, Bounds: []time.Time{day(2), day(1)}, Max: 10}); err == nil {
			t.Error("descending bounds: no error")
		}
	})
}

func TestDB_ExpiringCertificates(t *testing.T) {
	db := mustOpen(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expiryFixture(t, db, now)

	got, err := db.ExpiringCertificates(now, now.Add(48*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ends []time.Duration
	for _, c := range got {
		ends = append(ends, c.NotAfter.Sub(now))
	}
	// Soonest first; not the one ending exactly now, not the revoked one,
	// not the one ending after the window.
	if want := []time.Duration{time.Hour, 24 * time.Hour, 25 * time.Hour, 47 * time.Hour}; !slices.Equal(ends, want) {
		t.Errorf("ExpiringCertificates ends after now %v, want %v", ends, want)
	}
	if got, _ := db.ExpiringCertificates(now, now.Add(48*time.Hour), 2); len(got) != 2 {
		t.Errorf("limit 2: %d certificates", len(got))
	}
	if _, err := db.ExpiringCertificates(now, now.Add(time.Hour), 0); err == nil {
		t.Error("limit 0: no error")
	}
}
