package storagetest

import (
	"bytes"
	"testing"
	"time"

	"certmaker/storage"
)

// Everything written is there after a close and a reopen, its secrets
// opened again.
func testReopen(t *testing.T, h *harness) {
	f := h.open(t)
	s := f.s
	must(t, "CreateUser", s.CreateUser(newUser("alice")))
	root := newRoot("aa11", "")
	must(t, "PutRoot", s.PutRoot(root, true))
	c := newCert("alice")
	mustPut(t, s, c)
	revoked := newCert("alice")
	mustPut(t, s, revoked)
	at := base.Add(time.Minute)
	if _, err := s.Revoke(revoked.Serial, at, 4); err != nil {
		t.Fatal(err)
	}
	revoked.Revoked, revoked.RevokedAt, revoked.Reason = true, at, 4
	must(t, "PutChallenge", s.PutChallenge(newChallenge("c1", "alice", base)))
	nonce, err := s.ACMENonceKey()
	must(t, "ACMENonceKey", err)
	eab := storage.ACMEEAB{ID: "kid", Owner: "alice", Key: randomBytes(32), Created: base}
	must(t, "CreateACMEEAB", s.CreateACMEEAB(eab))
	a := newAccount("acc1", "alice")
	a.EABKeyID = "kid"
	if _, err := s.CreateACMEAccount(a); err != nil {
		t.Fatal(err)
	}
	o, azs := newOrder("o1", "acc1", 1)
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))

	s = f.reopen()
	if u, err := s.UserByTokenHash(newUser("alice").TokenHash); err != nil || u.Name != "alice" {
		t.Errorf("user after reopening: %+v, %v", u, err)
	}
	if rs, active, err := s.Roots(); err != nil || len(rs) != 1 || active != "aa11" || !bytes.Equal(rs[0].KeyPKCS8, root.KeyPKCS8) {
		t.Errorf("roots after reopening: %d, %q, %v", len(rs), active, err)
	}
	for _, want := range []*storage.Certificate{c, revoked} {
		got, err := s.Certificate(want.Serial)
		must(t, "Certificate after reopening", err)
		sameCert(t, &got, want)
	}
	if n, _ := s.CountCertificates("alice"); n != 2 {
		t.Errorf("CountCertificates after reopening = %d, want 2", n)
	}
	if _, list, _ := s.Revocations("3f1a9c", base); len(list) != 1 {
		t.Errorf("Revocations after reopening: %d entries, want 1", len(list))
	}
	if _, err := s.Challenge("c1"); err != nil {
		t.Errorf("challenge after reopening: %v", err)
	}
	if again, err := s.ACMENonceKey(); err != nil || !bytes.Equal(again, nonce) {
		t.Errorf("the nonce key changed across a reopen (%v): every nonce handed out is void", err)
	}
	if k, err := s.ACMEEABKey("kid"); err != nil || !bytes.Equal(k.Key, eab.Key) {
		t.Errorf("EAB key after reopening: %v", err)
	}
	if got, err := s.ACMEAccountByKey(a.Thumbprint); err != nil || got.ID != "acc1" {
		t.Errorf("account after reopening: %+v, %v", got, err)
	}
	if got, err := s.ACMEAuthz(azs[0].ID); err != nil || got.Order != "o1" {
		t.Errorf("authorization after reopening: %+v, %v", got, err)
	}
}
