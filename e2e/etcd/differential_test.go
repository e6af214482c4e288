package etcd

import (
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"certmaker/storage"
)

// TestAgainstBbolt writes the same certificates and revocations into the
// etcd store and the bbolt one, and asks both every kind of listing, page
// by page, and every count: the answers must be the same, in the same
// order. bbolt is the reference: its indexes are the contract's
// (storage/list.go), and etcd's keys are laid out differently.
func TestAgainstBbolt(t *testing.T) {
	ed := openStore(t)
	bd := openBolt(t, ed.KeyFile())
	both := []storage.Store{ed, bd}

	owners := []string{"alice", "bob", "carol"}
	domains := []string{"home.lan", "a.home.lan", "b.home.lan", "example.org", "x.example.org"}
	rng := mrand.New(mrand.NewPCG(1, 2))
	var certs []*storage.Certificate
	for i := range 240 {
		created := t0.Add(time.Duration(i/3) * time.Minute) // ties of three
		var names []string
		for range 1 + rng.IntN(3) {
			d := domains[rng.IntN(len(domains))]
			if rng.IntN(2) == 0 {
				names = append(names, d)
			} else {
				names = append(names, "www"+string(rune('a'+rng.IntN(4)))+"."+d)
			}
		}
		c := newCert(t, owners[rng.IntN(len(owners))], created, 1+rng.IntN(90), names...)
		certs = append(certs, c)
	}
	certs = append(certs, newCert(t, "alice", t0.Add(5*time.Hour), 30, manyNames(100, "big.home.lan")...))
	for _, c := range certs {
		for _, st := range both {
			if err := st.PutCertificate(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, c := range certs {
		if i%7 != 3 {
			continue
		}
		for _, st := range both {
			if _, err := st.Revoke(c.Serial, t0.Add(time.Hour), 1); err != nil {
				t.Fatal(err)
			}
		}
	}

	queries := []storage.ListQuery{{}, {RevokedOnly: true}}
	for _, o := range append(owners, "") {
		queries = append(queries,
			storage.ListQuery{Owner: o},
			storage.ListQuery{Owner: o, RevokedOnly: true},
			storage.ListQuery{Owner: o, Name: "home.lan"},
			storage.ListQuery{Owner: o, Name: "home.lan", NameSuffix: true},
			storage.ListQuery{Owner: o, Name: "example.org", NameSuffix: true},
			storage.ListQuery{Owner: o, Name: "a.home.lan", NameSuffix: true, RevokedOnly: true},
			storage.ListQuery{Owner: o, Name: "host042.big.home.lan"},
			storage.ListQuery{Owner: o, ExpiringAfter: t0.Add(10 * 24 * time.Hour)},
			storage.ListQuery{Owner: o, ExpiringAfter: t0.Add(5 * 24 * time.Hour), ExpiringBefore: t0.Add(40 * 24 * time.Hour)},
			storage.ListQuery{Owner: o, ExpiringBefore: t0.Add(20 * 24 * time.Hour)},
		)
	}
	for _, q := range queries {
		for _, limit := range []int{1, 7, 1000} {
			q.Limit = limit
			got, want := listAll(t, ed, q), listAll(t, bd, q)
			if !slices.Equal(got, want) {
				t.Errorf("%+v: etcd lists %d certificates, bbolt %d, or another order", q, len(got), len(want))
			}
		}
	}

	for _, o := range owners {
		a, _ := ed.CountCertificates(o)
		b, _ := bd.CountCertificates(o)
		if a != b || a == 0 {
			t.Errorf("CountCertificates(%s): etcd %d, bbolt %d", o, a, b)
		}
	}
	a, _ := ed.CountAllCertificates()
	b, _ := bd.CountAllCertificates()
	if a != b || a != len(certs) {
		t.Errorf("CountAllCertificates: etcd %d, bbolt %d, want %d", a, b, len(certs))
	}
	for _, r := range [][2]time.Duration{{0, 24 * time.Hour}, {36 * time.Hour, 30 * 24 * time.Hour}, {0, 365 * 24 * time.Hour}} {
		a, _ := ed.CountExpiring(t0.Add(r[0]), t0.Add(r[1]))
		b, _ := bd.CountExpiring(t0.Add(r[0]), t0.Add(r[1]))
		if a != b {
			t.Errorf("CountExpiring %v: etcd %d, bbolt %d", r, a, b)
		}
	}
	for _, o := range append(owners, "") {
		q := storage.ExpiryQuery{Owner: o, Now: t0.Add(20 * 24 * time.Hour), Max: 100000,
			Bounds: []time.Time{t0.Add(21 * 24 * time.Hour), t0.Add(30*24*time.Hour + time.Hour), t0.Add(60 * 24 * time.Hour)}}
		a, err := ed.CountExpiry(q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := bd.CountExpiry(q)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("CountExpiry(%q): etcd %+v, bbolt %+v", o, a, b)
		}
	}
	ga, ra, err := ed.Revocations("root-a", t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, rb, _ := bd.Revocations("root-a", t0.Add(30*24*time.Hour))
	if !reflect.DeepEqual(ra, rb) || len(ra) == 0 || ga == 0 {
		t.Errorf("Revocations: etcd %d (generation %d), bbolt %d, or they differ", len(ra), ga, len(rb))
	}
	for _, c := range certs[:20] {
		a, err := ed.Certificate(c.Serial)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := bd.Certificate(c.Serial)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("Certificate(%s) differs:\netcd  %+v\nbbolt %+v", c.Serial, a, b)
		}
	}
}

// listAll pages through q and returns the serials in order.
func listAll(t *testing.T, st storage.Store, q storage.ListQuery) []string {
	t.Helper()
	var out []string
	for range 10000 {
		page, next, err := st.ListCertificates(q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		for _, c := range page {
			out = append(out, c.Serial.Text(16))
		}
		if next == nil {
			return out
		}
		q.Before = next
	}
	t.Fatalf("%+v: no end after 10000 pages", q)
	return nil
}
