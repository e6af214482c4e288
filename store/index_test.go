package store_test

import (
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/store"
)

// model is what the store should hold, kept in memory by the test, so
// that every listing and count can be checked against a brute-force scan.
type model struct {
	certs []*store.Certificate
	now   time.Time
}

var (
	modelOwners = []string{"alice", "bob", "al", "carol"}
	modelNames  = []string{"home.lan", "a.home.lan", "b.a.home.lan", "*.home.lan", "home-lan.com", "xhome.lan", "lan", "db.example.com", "10.0.0.7"}
)

// fill issues and revokes at random, interleaved, as a CA does.
func (m *model) fill(t *testing.T, db *store.DB, rng *mrand.Rand, n int) {
	t.Helper()
	for range n {
		if len(m.certs) > 0 && rng.IntN(5) == 0 {
			c := m.certs[rng.IntN(len(m.certs))]
			if c.Revoked {
				continue
			}
			at := m.now.Add(-time.Duration(rng.IntN(1000)) * time.Minute).UTC()
			if _, err := db.Revoke(c.Serial, at, 4); err != nil {
				t.Fatal(err)
			}
			c.Revoked, c.RevokedAt, c.Reason = true, at, 4
			continue
		}
		c := newCert(modelOwners[rng.IntN(len(modelOwners))])
		c.Names = nil
		for range 1 + rng.IntN(3) {
			if name := modelNames[rng.IntN(len(modelNames))]; !slices.Contains(c.Names, name) {
				c.Names = append(c.Names, name)
			}
		}
		// Issued over the last 90 days, for 1 to 90 days: some expired.
		c.Created = m.now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).UTC()
		c.NotAfter = c.Created.Add(time.Duration(1+rng.IntN(90)) * 24 * time.Hour).Truncate(time.Second)
		if rng.IntN(10) == 0 {
			// Many end at the very same second, as a batch renewed does.
			c.NotAfter = m.now.Add(72 * time.Hour).Truncate(24 * time.Hour)
		}
		mustPut(t, db, c)
		m.certs = append(m.certs, c)
	}
}

func reversed(name string) string {
	l := strings.Split(name, ".")
	slices.Reverse(l)
	return strings.Join(l, ".")
}

// order keys of a certificate: issue time then serial, as bytes compare.
func ageKey(c *store.Certificate) string {
	return fmt.Sprintf("%020d/%040x", c.Created.UnixNano(), c.Serial)
}

func expiryKey(c *store.Certificate) string {
	return fmt.Sprintf("%020d/%040x", c.NotAfter.UnixNano(), c.Serial)
}

// want is the brute-force answer to q: every certificate read and tested.
func (m *model) want(q store.ListQuery) []*store.Certificate {
	type keyed struct {
		k string
		c *store.Certificate
	}
	var out []keyed
	for _, c := range m.certs {
		if q.Owner != "" && c.Owner != q.Owner {
			continue
		}
		if q.RevokedOnly && !c.Revoked {
			continue
		}
		if q.Expiring() && (c.Revoked || c.NotAfter.Before(q.ExpiringAfter) || !q.ExpiringBefore.IsZero() && !c.NotAfter.Before(q.ExpiringBefore)) {
			continue
		}
		k := ageKey(c)
		if q.Name != "" {
			// The greatest reversed name that matches, then newest first.
			best := ""
			for _, n := range c.Names {
				r := reversed(n)
				if (n == q.Name || q.NameSuffix && strings.HasSuffix(n, "."+q.Name)) && r > best {
					best = r
				}
			}
			if best == "" {
				continue
			}
			k = best + "\x00" + k
		} else if q.Expiring() && !q.RevokedOnly {
			k = expiryKey(c)
		}
		out = append(out, keyed{k, c})
	}
	asc := q.Name == "" && !q.RevokedOnly && q.Expiring()
	slices.SortFunc(out, func(a, b keyed) int {
		if asc {
			return strings.Compare(a.k, b.k)
		}
		return strings.Compare(b.k, a.k)
	})
	cs := make([]*store.Certificate, len(out))
	for i, o := range out {
		cs[i] = o.c
	}
	return cs
}

// listAll follows the cursors of q from the first page to the last.
func listAll(t *testing.T, db *store.DB, q store.ListQuery) []store.Certificate {
	t.Helper()
	var all []store.Certificate
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("%+v: pages never end", q)
		}
		got, next, err := db.ListCertificates(q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		all = append(all, got...)
		if next == nil {
			return all
		}
		q.Before = next
	}
}

func (m *model) queries() []store.ListQuery {
	var qs []store.ListQuery
	for _, owner := range append([]string{""}, modelOwners...) {
		qs = append(qs,
			store.ListQuery{Owner: owner},
			store.ListQuery{Owner: owner, RevokedOnly: true},
			store.ListQuery{Owner: owner, ExpiringAfter: m.now, ExpiringBefore: m.now.Add(14 * 24 * time.Hour)},
			store.ListQuery{Owner: owner, ExpiringAfter: m.now.Add(72 * time.Hour).Truncate(24 * time.Hour), ExpiringBefore: m.now.Add(100 * 24 * time.Hour)},
			store.ListQuery{Owner: owner, ExpiringAfter: m.now.Add(time.Nanosecond)},
			store.ListQuery{Owner: owner, ExpiringAfter: time.Unix(1, 0), ExpiringBefore: m.now.Add(time.Nanosecond)},
			store.ListQuery{Owner: owner, RevokedOnly: true, ExpiringAfter: m.now},
		)
		for _, name := range []string{"home.lan", "a.home.lan", "*.home.lan", "lan", "10.0.0.7", "nowhere.lan"} {
			qs = append(qs,
				store.ListQuery{Owner: owner, Name: name},
				store.ListQuery{Owner: owner, Name: name, NameSuffix: true},
				store.ListQuery{Owner: owner, Name: name, NameSuffix: true, RevokedOnly: true},
				store.ListQuery{Owner: owner, Name: name, ExpiringAfter: m.now},
			)
		}
	}
	return qs
}

// check compares every listing and count of db with the model.
func (m *model) check(t *testing.T, db *store.DB, rng *mrand.Rand) {
	t.Helper()
	for _, q := range m.queries() {
		want := m.want(q)
		for _, limit := range []int{1 + rng.IntN(7), 1000} {
			q.Limit = limit
			got := listAll(t, db, q)
			if len(got) != len(want) {
				t.Fatalf("%+v: %d certificates, want %d", q, len(got), len(want))
			}
			for i := range want {
				if got[i].Serial.Cmp(want[i].Serial) != 0 {
					t.Fatalf("%+v: position %d is %s, want %s", q, i, got[i].Serial, want[i].Serial)
				}
			}
		}
	}
	all, revoked := 0, 0
	for _, owner := range modelOwners {
		n := 0
		for _, c := range m.certs {
			if c.Owner == owner {
				n++
			}
		}
		if got, err := db.CountCertificates(owner); err != nil || got != n {
			t.Errorf("CountCertificates(%s) = %d, %v; want %d", owner, got, err, n)
		}
		all += n
	}
	if got, err := db.CountAllCertificates(); err != nil || got != all {
		t.Errorf("CountAllCertificates = %d, %v; want %d", got, err, all)
	}
	for _, c := range m.certs {
		if c.Revoked {
			revoked++
		}
	}
	for _, w := range []time.Duration{time.Hour, 72 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour} {
		from, to := m.now, m.now.Add(w)
		n := len(m.want(store.ListQuery{ExpiringAfter: from, ExpiringBefore: to}))
		if got, err := db.CountExpiring(from, to); err != nil || got != n {
			t.Errorf("CountExpiring(now, +%s) = %d, %v; want %d", w, got, err, n)
		}
	}
	day0 := m.now.UTC().Truncate(24 * time.Hour)
	bounds := []time.Time{day0.Add(7 * 24 * time.Hour), day0.Add(14 * 24 * time.Hour), day0.Add(60 * 24 * time.Hour)}
	for _, owner := range append([]string{""}, modelOwners...) {
		var want store.ExpiryCounts
		want.Periods = make([]int, len(bounds))
		for _, c := range m.certs {
			if owner != "" && c.Owner != owner {
				continue
			}
			switch i := 0; {
			case c.Revoked:
				want.Revoked++
			case !c.NotAfter.After(m.now):
				want.Expired++
			default:
				for i < len(bounds) && !c.NotAfter.Before(bounds[i]) {
					i++
				}
				if i == len(bounds) {
					want.Later++
				} else {
					want.Periods[i]++
				}
			}
		}
		got, err := db.CountExpiry(store.ExpiryQuery{Owner: owner, Now: m.now, Bounds: bounds, Max: 1000})
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("CountExpiry(%q) = %+v, %v; want %+v", owner, got, err, want)
		}
	}
	var wantCRL []string
	for _, c := range m.certs {
		if c.Revoked && c.NotAfter.After(m.now) {
			wantCRL = append(wantCRL, c.Serial.String())
		}
	}
	_, list, err := db.Revocations("3f1a9c", m.now)
	if err != nil {
		t.Fatal(err)
	}
	var gotCRL []string
	for _, r := range list {
		gotCRL = append(gotCRL, r.Serial.String())
	}
	slices.Sort(wantCRL)
	slices.Sort(gotCRL)
	if !slices.Equal(gotCRL, wantCRL) {
		t.Errorf("Revocations: %d entries, want the %d unexpired of %d revoked", len(gotCRL), len(wantCRL), revoked)
	}
}

// A random sequence of issues and revocations, then every listing
// (followed page by page and in one page) and every count compared with a
// brute-force scan; again after reopening the file.
func TestDB_IndexesMatchBruteForce(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := mrand.New(mrand.NewPCG(seed, 19))
			db := mustOpen(t)
			m := &model{now: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)}
			m.fill(t, db, rng, 400)
			m.check(t, db, rng)
			m.fill(t, db, rng, 100)
			db = reopen(t, db)
			m.check(t, db, rng)
		})
	}
}

// A file of the previous schema (4: no name, revoked-by-age or per-owner
// expiry index, no counters, revocations keyed by serial) is migrated on
// open: every index and counter rebuilt from the records.
func TestOpen_MigratesSchema4RebuildingIndexes(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(4, 19))
	db := mustOpen(t)
	m := &model{now: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)}
	m.fill(t, db, rng, 300)
	path := db.Path()
	closeChecked(t, db)

	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"by_name", "by_revoked", "owner_expiry", "counts"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return fmt.Errorf("deleting %s: %w", name, err)
			}
		}
		// Schema 4 keyed revocations root + 0 + serial.
		if err := tx.DeleteBucket([]byte("revoked")); err != nil {
			return err
		}
		rb, err := tx.CreateBucket([]byte("revoked"))
		if err != nil {
			return err
		}
		for _, c := range m.certs {
			if c.Revoked {
				k := append([]byte(c.Root+"\x00"), c.Serial.Bytes()...)
				if err := rb.Put(k, []byte(`{"v":1,"r":{"at":"2026-01-01T00:00:00Z","reason":4}}`)); err != nil {
					return err
				}
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 4))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpenPath(t, path)
	closeChecked(t, db)
	if v, _ := boltSchema(t, path); v != store.SchemaVersion {
		t.Errorf("schema after migration = %d, want %d", v, store.SchemaVersion)
	}
	db = mustOpenPath(t, path)
	m.check(t, db, rng)
	m.fill(t, db, rng, 50)
	m.check(t, db, rng)
}

// On a store larger than one listing may read, a name nobody has and
// revoked certificates of a user with none answer at once, empty and
// without a cursor: they read an index, not the records.
func TestDB_ListCertificates_IndexAnswersEmpty(t *testing.T) {
	db := mustOpen(t)
	fillMany(t, db, store.MaxScan+10, "alice")
	for _, q := range []store.ListQuery{
		{Name: "nowhere.home.lan", NameSuffix: true, Limit: 50},
		{Name: "alice.example.com", Owner: "bob", Limit: 50},
		{RevokedOnly: true, Limit: 50},
		{RevokedOnly: true, Owner: "alice", Limit: 50},
		{ExpiringAfter: time.Now().Add(400 * 24 * time.Hour), Limit: 50},
	} {
		got, next, err := db.ListCertificates(q)
		if err != nil || len(got) != 0 || next != nil {
			t.Errorf("%+v: %d certificates, next=%x, %v; want none and no cursor", q, len(got), next, err)
		}
	}
	got, next, err := db.ListCertificates(store.ListQuery{Name: "example.com", NameSuffix: true, Limit: 50})
	if err != nil || len(got) != 50 || next == nil {
		t.Errorf("suffix search: %d certificates, next=%x, %v; want a full page and a cursor", len(got), next, err)
	}
}
