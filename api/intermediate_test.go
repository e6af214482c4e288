package api_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"
)

// TestRotateIntermediate: a new intermediate under the same root signs from
// then on, so a device that trusts the root trusts new certificates with
// nothing installed; the old intermediate keeps answering OCSP and its CRL
// for the certificates it signed, across a restart.
func TestRotateIntermediate(t *testing.T) {
	e := newEnv(t, envOptions{})
	root, old := e.ca.ActiveRoot(), e.ca.Active()
	oldPath, _ := e.issue("alice", `{"domains":["old.home.lan"]}`)
	oldLeaf := e.cert("alice", oldPath)

	fp, err := e.ops.RotateIntermediate(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := e.ca.Active()
	if in.Fingerprint != fp || fp == old.Fingerprint || in.Parent != root || e.ca.ActiveRoot() != root {
		t.Fatalf("after intermediate rotate: active %s under %v, want a new intermediate %s under the same root", in.Fingerprint, in.Parent, fp)
	}
	newPath, _ := e.issue("alice", `{"domains":["new.home.lan"]}`)
	chain := pemBlocks(t, e.do("GET", newPath, "alice", "").body)
	if len(chain) != 2 || !chain[1].Equal(in.Cert) {
		t.Fatal("a new certificate is not served with the new intermediate")
	}
	verify(t, chain[0], in, "new.home.lan")
	if got := pemBlocks(t, e.do("GET", "/roots.pem", "", "").body); len(got) != 1 || !got[0].Equal(root.Cert) {
		t.Error("rotating the intermediate changed what devices must trust")
	}

	e.restart(envOptions{})
	if e.ca.Active().Fingerprint != fp {
		t.Fatal("the new intermediate is not active after a restart")
	}
	e.do("POST", strings.Replace(oldPath, "/obtain", "/revoke", 1), "alice", "").want(t, 200)
	if r := e.ocspQuery(t, oldLeaf, old.Cert, false); r.Status != ocsp.Revoked {
		t.Errorf("the old intermediate's OCSP answer for its leaf: %d, want revoked", r.Status)
	}
	if crl := e.crl(t, "/api/crl/"+old.Fingerprint, old.Cert); listed(crl, oldLeaf.SerialNumber) == nil {
		t.Error("the old intermediate's CRL does not list its revoked leaf")
	}
	if crl := e.crl(t, "/api/crl", e.ca.Active().Cert); listed(crl, oldLeaf.SerialNumber) != nil {
		t.Error("the new intermediate's CRL lists the old one's leaf")
	}
	verify(t, oldLeaf, e.ca.Issuer(old.Fingerprint), "old.home.lan")
}
