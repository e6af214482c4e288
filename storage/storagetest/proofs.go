package storagetest

import (
	"testing"
	"time"

	"certmaker/storage"
)

// The fields the DNS and TLS proofs and renewal information added keep
// their values, through the updates that set them and across a reopen: a
// challenge's proof, a CA's renewal window, an order's "replaces" and "replaced by", each
// challenge type of an authorization; and a wildcard's authorization is
// found for the wildcard only, never for its base name (its proof proves
// the wildcard alone).
func testProofs(t *testing.T, h *harness) {
	f := h.open(t)
	s := f.s
	must(t, "PutRoot", s.PutRoot(newRoot("aa11", ""), true))
	start, end := base.Add(time.Hour), base.Add(2*time.Hour)
	if got, err := s.UpdateRoot("aa11", func(r *storage.Root) error { r.RenewStart, r.RenewEnd = start, end; return nil }); err != nil ||
		!got.RenewStart.Equal(start) || !got.RenewEnd.Equal(end) {
		t.Errorf("UpdateRoot with a renewal window = %+v, %v", got, err)
	}

	ch := newChallenge("c-dns", "alice", base)
	ch.Proof = "dns"
	must(t, "PutChallenge", s.PutChallenge(ch))

	o, azs := newOrder("o-w", "acc1", 2)
	o.Replaces, o.ReplacedBy = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", "o-next"
	wild := storage.ACMEIdentifier{Type: "dns", Value: "*.wild.example.com"}
	bare := storage.ACMEIdentifier{Type: "dns", Value: "wild.example.com"}
	o.Identifiers = []storage.ACMEIdentifier{wild, bare}
	azs[0].Identifier, azs[1].Identifier = wild, bare
	azs[0].Challenges = []storage.ACMEChallenge{{ID: "w-dns", Type: "dns-01", Token: "t", Status: "pending"}}
	azs[1].Challenges = []storage.ACMEChallenge{
		{ID: "b-http", Type: "http-01", Token: "t", Status: "pending"},
		{ID: "b-dns", Type: "dns-01", Token: "t", Status: "pending"},
		{ID: "b-alpn", Type: "tls-alpn-01", Token: "t", Status: "pending"},
	}
	must(t, "CreateACMEOrder", s.CreateACMEOrder(o, azs))

	check := func(when string, s Store) {
		t.Helper()
		rs, _, err := s.Roots()
		if err != nil || len(rs) != 1 || !rs[0].RenewStart.Equal(start) || !rs[0].RenewEnd.Equal(end) {
			t.Errorf("%s: the root's renewal window: %+v, %v", when, rs, err)
		}
		if got, err := s.Challenge("c-dns"); err != nil || got.Proof != "dns" {
			t.Errorf("%s: challenge proof %q, %v", when, got.Proof, err)
		}
		if got, err := s.ACMEOrder("o-w"); err != nil || got.Replaces != o.Replaces || got.ReplacedBy != o.ReplacedBy {
			t.Errorf("%s: order replaces %q, replaced by %q, %v", when, got.Replaces, got.ReplacedBy, err)
		}
		if got, err := s.ACMEAuthzFor("acc1", wild); err != nil || got.ID != azs[0].ID {
			t.Errorf("%s: the wildcard's authorization: %+v, %v", when, got, err)
		}
		got, err := s.ACMEAuthzFor("acc1", bare)
		if err != nil || got.ID != azs[1].ID || len(got.Challenges) != 3 || got.Challenges[2].Type != "tls-alpn-01" {
			t.Errorf("%s: the base name's authorization: %+v, %v", when, got, err)
		}
		if _, err := s.ACMEAuthzFor("acc1", storage.ACMEIdentifier{Type: "dns", Value: "*.example.com"}); err == nil {
			t.Errorf("%s: an authorization found for a wildcard nobody ordered", when)
		}
	}
	check("as written", s)
	if got, err := s.CompleteChallenge("c-dns", newCert("alice")); err != nil || got.Proof != "dns" {
		t.Errorf("CompleteChallenge kept proof %q, %v", got.Proof, err)
	}
	check("after a reopen", f.reopen())
}
