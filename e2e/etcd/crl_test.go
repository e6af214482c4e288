package etcd

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"certmaker/core"
)

// crl is the active issuer's CRL as the node serves it.
func (n *inNode) crl(t *testing.T) (*x509.RevocationList, error) {
	t.Helper()
	der, _, _, err := n.svc.CRL("")
	if err != nil {
		return nil, err
	}
	return x509.ParseRevocationList(der)
}

// CRLs fetched alternately from two nodes (as through a balancer) never
// go back: one number per revocation generation, whichever node signs,
// and a greater one once a revocation changes the list.
func TestCRL_NumbersAcrossNodes(t *testing.T) {
	prefix := newPrefix()
	a := startInNode(t, embedded.endpoint, prefix, nil, 5*time.Second)
	b := startInNode(t, embedded.endpoint, prefix, readFile(t, a.cfg.Store.KeyFile), 5*time.Second)
	nodes := []*inNode{a, b}
	var last *x509.RevocationList
	fetch := func(round int) {
		for i := range 6 {
			n := nodes[(i+round)%2]
			l, err := n.crl(t)
			if err != nil {
				t.Fatal(err)
			}
			if last != nil {
				switch c := l.Number.Cmp(last.Number); {
				case c < 0:
					t.Fatalf("round %d fetch %d: CRL number %x after %x", round, i, l.Number, last.Number)
				case c == 0 && len(l.RevokedCertificateEntries) != len(last.RevokedCertificateEntries):
					t.Fatalf("round %d fetch %d: CRL number %x for two lists (%d and %d entries)", round, i, l.Number, len(l.RevokedCertificateEntries), len(last.RevokedCertificateEntries))
				}
			}
			last = l
		}
	}
	fetch(0)
	for round := 1; round <= 3; round++ {
		c, err := nodes[round%2].issue("r.lan")
		if err != nil {
			t.Fatal(err)
		}
		before := last.Number
		if _, err := nodes[round%2].svc.Revoke(context.Background(), core.Operator("test"), core.Revocation{Serial: c.Serial, Reason: 1}); err != nil {
			t.Fatal(err)
		}
		fetch(round)
		if last.Number.Cmp(before) <= 0 || len(last.RevokedCertificateEntries) != round {
			t.Fatalf("round %d: CRL %x with %d entries after a revocation, was %x", round, last.Number, len(last.RevokedCertificateEntries), before)
		}
	}
}
