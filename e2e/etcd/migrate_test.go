package etcd

import (
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"certmaker/migrate"
	"certmaker/storage"
	"certmaker/storage/storagetest"
)

// fill writes one of every kind of record into st.
func fill(t *testing.T, st interface {
	storage.Store
	MarkAnnounced(key []byte, at, until time.Time) error
}) {
	t.Helper()
	must(t, st.CreateUser(storage.User{Name: "alice", TokenHash: storage.HashToken("a"), Created: t0}))
	must(t, st.CreateUser(storage.User{Name: "bob", Admin: true, TokenHash: storage.HashToken("b"), Created: t0}))
	must(t, st.PutRoot(storage.Root{Fingerprint: "root-a", CertDER: []byte("der-a"), KeyPKCS8: []byte("root key a"), Created: t0}, false))
	must(t, st.PutRoot(storage.Root{Fingerprint: "int-a", CertDER: []byte("der-i"), KeyPKCS8: []byte("int key"), Parent: "root-a", Created: t0}, true))
	for i := range 40 {
		c := newCert(t, []string{"alice", "bob"}[i%2], t0.Add(time.Duration(i)*time.Minute), 10+i, "a.home.lan", "b.home.lan")
		if i%3 == 0 {
			c.KeyPKCS8 = nil // from a CSR
		}
		must(t, st.PutCertificate(c))
		if i%5 == 0 {
			_, err := st.Revoke(c.Serial, t0.Add(time.Hour), 4)
			must(t, err)
		}
	}
	must(t, st.PutCertificate(newCert(t, "alice", t0, 30, manyNames(100, "big.lan")...)))
	must(t, st.PutChallenge(storage.Challenge{ID: "ch1", Owner: "alice", Token: "tok", Request: []byte(`{"names":["x.lan"]}`), Created: t0, Expires: t0.Add(time.Hour)}))
	must(t, st.CreateACMEEAB(storage.ACMEEAB{ID: "kid1", Owner: "alice", Key: []byte("0123456789abcdef0123456789abcdef"), Created: t0}))
	_, err := st.CreateACMEAccount(storage.ACMEAccount{ID: "acct1", Owner: "alice", Thumbprint: "tp1", Key: []byte(`{"kty":"EC"}`), Status: "valid", EABKeyID: "kid1", Created: t0})
	must(t, err)
	o := storage.ACMEOrder{ID: "ord1", Account: "acct1", Status: "pending", Identifiers: []storage.ACMEIdentifier{{Type: "dns", Value: "x.lan"}}, Authzs: []string{"az1"}, Expires: t0.Add(time.Hour), Created: t0}
	must(t, st.CreateACMEOrder(o, []storage.ACMEAuthz{{ID: "az1", Account: "acct1", Order: "ord1", Identifier: o.Identifiers[0], Status: "pending", Expires: t0.Add(time.Hour),
		Challenges: []storage.ACMEChallenge{{ID: "c1", Type: "http-01", Token: "t", Status: "pending"}}}}))
	_, err = st.ACMENonceKey()
	must(t, err)
	must(t, st.MarkAnnounced([]byte("webhook/123"), t0, t0.Add(48*time.Hour)))
	for range 3 {
		_, err := st.NextCRLNumber("int-a")
		must(t, err)
	}
}

// A bbolt file migrated to etcd and back holds the same records, one by
// one; Verify notices a record changed in the copy.
func TestMigrate_RoundTrip(t *testing.T) {
	ed := openStore(t)
	bd := openBolt(t, ed.KeyFile())
	fill(t, bd)

	var progress []int
	n, err := migrate.Copy(ed, bd, func(n int) { progress = append(progress, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != n {
		t.Fatalf("progress %v for %d records", progress, n)
	}
	counts, err := migrate.Verify(ed, bd)
	if err != nil {
		t.Fatal(err)
	}
	if counts["certificates"] != 41 || counts["users"] != 2 || counts["crl numbers"] != 1 || counts["acme orders"] != 1 {
		t.Fatalf("counts %v", counts)
	}
	if err := ed.Check(); err != nil {
		t.Fatal(err)
	}
	// The copy answers as the original did.
	for _, q := range []storage.ListQuery{{Limit: 100}, {Owner: "alice", Name: "home.lan", NameSuffix: true, Limit: 100}, {RevokedOnly: true, Limit: 100}} {
		if a, b := listAll(t, ed, q), listAll(t, bd, q); strings.Join(a, ",") != strings.Join(b, ",") || len(a) == 0 {
			t.Fatalf("%+v: etcd %d, bbolt %d", q, len(a), len(b))
		}
	}
	// CRL numbers go on from where the original was.
	before, _ := bd.NextCRLNumber("int-a")
	after, err := ed.NextCRLNumber("int-a")
	if err != nil || after <= before-1 {
		t.Fatalf("CRL number in etcd %d, the original had reached %d: %v", after, before-1, err)
	}
	if u, err := ed.UserByTokenHash(storage.HashToken("b")); err != nil || !u.Admin {
		t.Fatalf("token index: %+v, %v", u, err)
	}
	if az, err := ed.ACMEAuthzFor("acct1", storage.ACMEIdentifier{Type: "dns", Value: "x.lan"}); err != nil || az.ID != "az1" {
		t.Fatalf("latest authorization after the copy: %+v, %v", az, err)
	}

	back := openBolt(t, ed.KeyFile())
	if _, err := migrate.Copy(back, ed, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Verify(back, ed); err != nil {
		t.Fatal(err)
	}
	if err := back.Check(); err != nil {
		t.Fatal(err)
	}
	if az, err := back.ACMEAuthzFor("acct1", storage.ACMEIdentifier{Type: "dns", Value: "x.lan"}); err != nil || az.ID != "az1" {
		t.Fatalf("latest authorization after the copy back: %+v, %v", az, err)
	}

	// A record changed in the copy is found.
	page, _, _ := back.ListCertificates(storage.ListQuery{Limit: 1})
	if _, err := back.Revoke(page[0].Serial, t0.Add(2*time.Hour), 1); err != nil && !strings.Contains(err.Error(), "revoked") {
		t.Fatal(err)
	}
	if _, err := back.UpdateUser("alice", func(u *storage.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Verify(back, ed); err == nil || !strings.Contains(err.Error(), "users alice differs") {
		t.Fatalf("verify after a change: %v", err)
	}
}

// A store the conformance suite's model filled (issued and revoked at
// random, some expired, names under names) answers every listing and
// count the same after a copy into etcd and back into a new file.
func TestMigrate_ModelBothWays(t *testing.T) {
	ed := openStore(t)
	bd := openBolt(t, ed.KeyFile())
	m := &storagetest.Model{Now: t0}
	m.Fill(t, bd, mrand.New(mrand.NewPCG(25, 3)), 300)
	if _, err := migrate.Copy(ed, bd, nil); err != nil {
		t.Fatal(err)
	}
	m.Check(t, ed, mrand.New(mrand.NewPCG(25, 4)))
	back := openBolt(t, ed.KeyFile())
	if _, err := migrate.Copy(back, ed, nil); err != nil {
		t.Fatal(err)
	}
	m.Check(t, back, mrand.New(mrand.NewPCG(25, 5)))
}
