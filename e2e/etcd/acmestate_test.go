package etcd

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"certmaker/migrate"
	"certmaker/storage"
	"certmaker/storage/storagetest"
)

// fillACME writes the ACME state the limits count and the sweep deletes,
// and sweeps it once, so that the count of certificates of accounts
// without a binding is more than the records left imply: alice's account
// b1 (with a binding) and its orders, one valid for good; strangers s1
// (a certificate that expired, one that lasts), s2 (a live order of 100
// names), s3 (a certificate that expired long ago, then nothing) and idle
// (nothing ever).
func fillACME(t *testing.T, st storage.Store) {
	t.Helper()
	must(t, st.CreateUser(storage.User{Name: "alice", TokenHash: storage.HashToken("a"), Created: t0}))
	must(t, st.CreateACMEEAB(storage.ACMEEAB{ID: "kid1", Owner: "alice", Key: []byte("0123456789abcdef0123456789abcdef"), Created: t0}))
	long := t0.Add(-30 * 24 * time.Hour)
	for _, a := range []storage.ACMEAccount{
		{ID: "b1", EABKeyID: "kid1"}, {ID: "s1"}, {ID: "s2"}, {ID: "s3"}, {ID: "idle"},
	} {
		a.Owner, a.Thumbprint, a.Key, a.Status, a.Created = "alice", "tp-"+a.ID, []byte(`{"kty":"EC"}`), "valid", long
		_, err := st.CreateACMEAccount(a)
		must(t, err)
	}
	order := func(id, account string, names int, expires time.Time) {
		t.Helper()
		o := storage.ACMEOrder{ID: id, Account: account, Status: "pending", Expires: expires, Created: expires.Add(-time.Hour)}
		var azs []storage.ACMEAuthz
		for i := range names {
			ident := storage.ACMEIdentifier{Type: "dns", Value: fmt.Sprintf("%s-%d.lan", id, i)}
			az := storage.ACMEAuthz{ID: fmt.Sprintf("%s-az%d", id, i), Account: account, Order: id, Identifier: ident, Status: "pending", Expires: expires,
				Challenges: []storage.ACMEChallenge{{ID: fmt.Sprintf("%s-ch%d", id, i), Type: "http-01", Token: "t", Status: "pending"}}}
			o.Identifiers, o.Authzs, azs = append(o.Identifiers, ident), append(o.Authzs, az.ID), append(azs, az)
		}
		must(t, st.CreateACMEOrder(o, azs))
	}
	finalized := func(id, account string, notAfter time.Time) {
		t.Helper()
		order(id, account, 1, t0.Add(-2*24*time.Hour))
		c := newCert(t, "alice", t0.Add(-90*24*time.Hour), 1, id+".lan")
		c.KeyPKCS8, c.NotAfter = nil, notAfter
		_, err := st.PutACMECertificate(id, c, func(o *storage.ACMEOrder) error { o.Status, o.Serial = "valid", c.Serial; return nil })
		must(t, err)
	}
	order("b-pending", "b1", 1, t0.Add(-2*24*time.Hour))
	finalized("b-valid", "b1", t0.Add(60*24*time.Hour))
	finalized("s1-old", "s1", t0.Add(-3*24*time.Hour))
	finalized("s1-live", "s1", t0.Add(60*24*time.Hour))
	order("s2-big", "s2", 100, t0.Add(time.Hour))
	finalized("s3-old", "s3", t0.Add(-10*24*time.Hour))
	// b-pending and the authorizations of every order but s2-big go, and
	// so do s1-old and s3-old, then s3 and idle.
	n, _ := storagetest.SweepACME(t, st, storage.ACMESweep{Before: t0.Add(-24 * time.Hour), Idle: t0.Add(-24 * time.Hour), Max: 3})
	if n != 10 {
		t.Fatalf("the first sweep deleted %d, want 10", n)
	}
}

// acmeState is what the limits and the sweep read of a store.
type acmeState struct {
	UnboundAccounts, UnboundCertificates int
	Identifiers                          map[string]int
	Orders                               map[string][]string
	Accounts                             []string
}

func readACME(t *testing.T, st storage.Store) acmeState {
	t.Helper()
	s := acmeState{Identifiers: map[string]int{}, Orders: map[string][]string{}}
	var err error
	if s.UnboundAccounts, err = st.CountUnboundACMEAccounts(); err != nil {
		t.Fatal(err)
	}
	if s.UnboundCertificates, err = st.CountUnboundACMECertificates(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "s1", "s2", "s3", "idle"} {
		if s.Identifiers[id], _, err = st.CountACMEIdentifiers(id, t0); err != nil {
			t.Fatal(err)
		}
		ids, _, err := st.ACMEOrders(id, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		s.Orders[id] = ids
	}
	accounts, err := st.ACMEAccounts("")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		s.Accounts = append(s.Accounts, a.ID)
	}
	return s
}

// A migration brings the ACME state whole, both ways: what the limits
// count (the certificates of accounts without a binding too, which no
// record left implies) and what the sweep finds, so that the copies
// sweep what the original sweeps, when it does.
func TestMigrate_ACMEState(t *testing.T) {
	ed := openStore(t)
	bd := openBolt(t, ed.KeyFile())
	fillACME(t, bd)
	want := readACME(t, bd)
	if want.UnboundCertificates != 3 || want.UnboundAccounts != 2 || want.Identifiers["s2"] != 100 {
		t.Fatalf("the original: %+v", want)
	}
	if _, err := migrate.Copy(ed, bd, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Verify(ed, bd); err != nil {
		t.Fatal(err)
	}
	back := openBolt(t, ed.KeyFile())
	if _, err := migrate.Copy(back, ed, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Verify(back, ed); err != nil {
		t.Fatal(err)
	}
	stores := map[string]storage.Store{"bbolt": bd, "etcd": ed, "bbolt again": back}
	for name, st := range stores {
		if got := readACME(t, st); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	for _, step := range []struct {
		q    storage.ACMESweep
		want int
	}{
		// s2-big with its 100 authorizations, then s2.
		{storage.ACMESweep{Before: t0.Add(2 * time.Hour), Idle: t0.Add(24 * time.Hour), Max: 3}, 102},
		// s1-live once its certificate expired, then s1.
		{storage.ACMESweep{Before: t0.Add(61 * 24 * time.Hour), Idle: t0.Add(62 * 24 * time.Hour), Max: 3}, 2},
	} {
		for name, st := range stores {
			if n, _ := storagetest.SweepACME(t, st, step.q); n != step.want {
				t.Errorf("%s: the sweep to %v deleted %d, want %d", name, step.q.Before, n, step.want)
			}
		}
		want := readACME(t, bd)
		for name, st := range stores {
			if got := readACME(t, st); !reflect.DeepEqual(got, want) {
				t.Errorf("%s after the sweep to %v: %+v, want %+v", name, step.q.Before, got, want)
			}
		}
	}
	if got := readACME(t, ed); len(got.Accounts) != 1 || got.UnboundCertificates != 3 || len(got.Orders["b1"]) != 1 {
		t.Errorf("at the end: %+v; want b1 and its valid order, and 3 certificates counted still", got)
	}
}
