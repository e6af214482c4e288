package api_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"certmaker/ca"
	"certmaker/store"
)

// TestOneTierDatabase: a database from before intermediates, whose root
// signs leaves itself, keeps working as it did (its leaves, OCSP answers
// and CRLs, signed by that root, and no chain but the leaf), and
// rotate-root turns it into a two-tier CA while the old root keeps
// answering for its leaves.
func TestOneTierDatabase(t *testing.T) {
	var old *ca.Issuer
	seed := func(db *store.DB) {
		r, err := ca.NewRoot(ca.RootConfig{KeyType: ca.KeyECDSAP256, Days: 3650, CommonName: "old root", Country: "DE", OneTier: true}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		key, err := ca.MarshalKey(r.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutRoot(store.Root{Fingerprint: r.Fingerprint, CertDER: r.Cert.Raw, KeyPKCS8: key, Created: time.Now()}, true); err != nil {
			t.Fatal(err)
		}
		old = r
	}
	e := newEnv(t, envOptions{seed: seed})
	if got := e.ca.Active(); got.Fingerprint != old.Fingerprint || !got.IsRoot() || !got.SignsLeaves() {
		t.Fatalf("active issuer %s, want the one-tier root %s", got.Fingerprint, old.Fingerprint)
	}
	certPath, _ := e.issue("alice", `{"domains":["old.home.lan"]}`)
	chain := pemBlocks(t, e.do("GET", certPath, "alice", "").body)
	if len(chain) != 1 {
		t.Fatalf("a one-tier root's leaf is served with %d certificates, want the leaf alone", len(chain))
	}
	leaf := chain[0]
	verify(t, leaf, e.ca.Active(), "old.home.lan")
	if r := e.ocspQuery(t, leaf, old.Cert, false); r.Status != ocsp.Good {
		t.Errorf("OCSP status %d, want good", r.Status)
	}
	e.crl(t, "/api/crl", old.Cert)
	e.do("GET", "/intermediate.pem", "", "").want(t, 404)

	fp, err := e.ops.RotateRoot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e.restart(envOptions{})
	if in := e.ca.Active(); in.IsRoot() || in.Parent.Fingerprint != fp {
		t.Fatalf("after rotate-root the active issuer is %s, want an intermediate under %s", in.Fingerprint, fp)
	}
	newPath, _ := e.issue("alice", `{"domains":["new.home.lan"]}`)
	if n := len(pemBlocks(t, e.do("GET", newPath, "alice", "").body)); n != 2 {
		t.Errorf("a new leaf is served with %d certificates, want leaf and intermediate", n)
	}
	// The old root still answers for what it signed.
	e.do("POST", strings.Replace(certPath, "/obtain", "/revoke", 1), "alice", "").want(t, 200)
	if r := e.ocspQuery(t, leaf, old.Cert, true); r.Status != ocsp.Revoked {
		t.Errorf("old leaf after rotation: OCSP status %d, want revoked", r.Status)
	}
	if crl := e.crl(t, "/api/crl/"+old.Fingerprint, old.Cert); listed(crl, leaf.SerialNumber) == nil {
		t.Error("the old root's CRL does not list its revoked leaf")
	}
}
