package storagetest

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/storage"
)

// Model is what a store should hold, kept in memory by a test, so that
// every listing and count can be checked against a brute-force scan: Fill
// issues and revokes at random through the store and the model alike,
// Check compares every listing (page by page and whole) and every count.
// A backend's migration tests use it too.
type Model struct {
	certs []*storage.Certificate
	Now   time.Time
}

var (
	modelOwners = []string{"alice", "bob", "al", "carol"}
	modelNames  = []string{"home.lan", "a.home.lan", "b.a.home.lan", "*.home.lan", "home-lan.com", "xhome.lan", "lan", "s.example.com", "10.0.0.7"}
)

// Fill issues and revokes at random, interleaved, as a CA does.
func (m *Model) Fill(t *testing.T, s storage.Store, rng *mrand.Rand, n int) {
	t.Helper()
	for range n {
		if len(m.certs) > 0 && rng.IntN(5) == 0 {
			c := m.certs[rng.IntN(len(m.certs))]
			if c.Revoked {
				continue
			}
			at := m.Now.Add(-time.Duration(rng.IntN(1000)) * time.Minute).UTC()
			if _, err := s.Revoke(c.Serial, at, 4); err != nil {
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
		c.Created = m.Now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).UTC()
		c.NotAfter = c.Created.Add(time.Duration(1+rng.IntN(90)) * 24 * time.Hour).Truncate(time.Second)
		if rng.IntN(10) == 0 {
			// Many end at the very same second, as a batch renewed does.
			c.NotAfter = m.Now.Add(72 * time.Hour).Truncate(24 * time.Hour)
		}
		mustPut(t, s, c)
		m.certs = append(m.certs, c)
	}
}

func reversed(name string) string {
	l := strings.Split(name, ".")
	slices.Reverse(l)
	return strings.Join(l, ".")
}

// order keys of a certificate: issue time then serial, as bytes compare.
func ageKey(c *storage.Certificate) string {
	return fmt.Sprintf("%020d/%040x", c.Created.UnixNano(), c.Serial)
}

func expiryKey(c *storage.Certificate) string {
	return fmt.Sprintf("%020d/%040x", c.NotAfter.UnixNano(), c.Serial)
}

// want is the brute-force answer to q: every certificate read and tested.
func (m *Model) want(q storage.ListQuery) []*storage.Certificate {
	type keyed struct {
		k string
		c *storage.Certificate
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
	cs := make([]*storage.Certificate, len(out))
	for i, o := range out {
		cs[i] = o.c
	}
	return cs
}

// listAll follows the cursors of q from the first page to the last.
func listAll(t *testing.T, s storage.Store, q storage.ListQuery) []storage.Certificate {
	t.Helper()
	var all []storage.Certificate
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("%+v: pages never end", q)
		}
		got, next, err := s.ListCertificates(q)
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

func (m *Model) queries() []storage.ListQuery {
	var qs []storage.ListQuery
	for _, owner := range append([]string{""}, modelOwners...) {
		qs = append(qs,
			storage.ListQuery{Owner: owner},
			storage.ListQuery{Owner: owner, RevokedOnly: true},
			storage.ListQuery{Owner: owner, ExpiringAfter: m.Now, ExpiringBefore: m.Now.Add(14 * 24 * time.Hour)},
			storage.ListQuery{Owner: owner, ExpiringAfter: m.Now.Add(72 * time.Hour).Truncate(24 * time.Hour), ExpiringBefore: m.Now.Add(100 * 24 * time.Hour)},
			storage.ListQuery{Owner: owner, ExpiringAfter: m.Now.Add(time.Nanosecond)},
			storage.ListQuery{Owner: owner, ExpiringAfter: time.Unix(1, 0), ExpiringBefore: m.Now.Add(time.Nanosecond)},
			storage.ListQuery{Owner: owner, RevokedOnly: true, ExpiringAfter: m.Now},
		)
		for _, name := range []string{"home.lan", "a.home.lan", "*.home.lan", "lan", "10.0.0.7", "nowhere.lan"} {
			qs = append(qs,
				storage.ListQuery{Owner: owner, Name: name},
				storage.ListQuery{Owner: owner, Name: name, NameSuffix: true},
				storage.ListQuery{Owner: owner, Name: name, NameSuffix: true, RevokedOnly: true},
				storage.ListQuery{Owner: owner, Name: name, ExpiringAfter: m.Now},
			)
		}
	}
	return qs
}

// Check compares every listing and count of db with the model.
func (m *Model) Check(t *testing.T, s storage.Store, rng *mrand.Rand) {
	t.Helper()
	for _, q := range m.queries() {
		want := m.want(q)
		for _, limit := range []int{1 + rng.IntN(7), 1000} {
			q.Limit = limit
			got := listAll(t, s, q)
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
		if got, err := s.CountCertificates(owner); err != nil || got != n {
			t.Errorf("CountCertificates(%s) = %d, %v; want %d", owner, got, err, n)
		}
		all += n
	}
	if got, err := s.CountAllCertificates(); err != nil || got != all {
		t.Errorf("CountAllCertificates = %d, %v; want %d", got, err, all)
	}
	for _, c := range m.certs {
		if c.Revoked {
			revoked++
		}
	}
	for _, w := range []time.Duration{time.Hour, 72 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour} {
		from, to := m.Now, m.Now.Add(w)
		n := len(m.want(storage.ListQuery{ExpiringAfter: from, ExpiringBefore: to}))
		if got, err := s.CountExpiring(from, to); err != nil || got != n {
			t.Errorf("CountExpiring(now, +%s) = %d, %v; want %d", w, got, err, n)
		}
	}
	day0 := m.Now.UTC().Truncate(24 * time.Hour)
	bounds := []time.Time{day0.Add(7 * 24 * time.Hour), day0.Add(14 * 24 * time.Hour), day0.Add(60 * 24 * time.Hour)}
	for _, owner := range append([]string{""}, modelOwners...) {
		var want storage.ExpiryCounts
		want.Periods = make([]int, len(bounds))
		for _, c := range m.certs {
			if owner != "" && c.Owner != owner {
				continue
			}
			switch i := 0; {
			case c.Revoked:
				want.Revoked++
			case !c.NotAfter.After(m.Now):
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
		got, err := s.CountExpiry(storage.ExpiryQuery{Owner: owner, Now: m.Now, Bounds: bounds, Max: 1000})
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("CountExpiry(%q) = %+v, %v; want %+v", owner, got, err, want)
		}
	}
	var wantCRL []string
	for _, c := range m.certs {
		if c.Revoked && c.NotAfter.After(m.Now) {
			wantCRL = append(wantCRL, c.Serial.String())
		}
	}
	_, list, err := s.Revocations("3f1a9c", m.Now)
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
// brute-force scan; again after more writes and a reopen.
func testIndexes(t *testing.T, h *harness) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := mrand.New(mrand.NewPCG(seed, 19))
			f := h.open(t)
			m := &Model{Now: base}
			m.Fill(t, f.s, rng, 300)
			m.Check(t, f.s, rng)
			m.Fill(t, f.s, rng, 100)
			m.Check(t, f.reopen(), rng)
		})
	}
}

// Certificates are the certificates the model holds, as it holds them.
func (m *Model) Certificates() []*storage.Certificate { return m.certs }
