package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"certmaker/core"
	"certmaker/storage"
	"certmaker/store"
)

// twoNodes is two services on one store, as two nodes of a cluster are:
// what one keeps in memory the other never sees; what the store keeps
// (its records, its claims) both do. Accounts without a binding act for
// alice, who may have localhost, which needs no proof: their orders are
// ready at once.
func twoNodes(t *testing.T, acme core.ACMEConfig) ([2]*core.Service, *store.DB) {
	t.Helper()
	acme.Enabled, acme.DefaultUser = true, "alice"
	set := func(c *core.Config) { c.ACME = acme }
	first, db := openService(t, set)
	second := newService(t, db, set)
	if _, err := second.LoadRoots(); err != nil {
		t.Fatal(err)
	}
	setPolicy(t, first, "alice", core.PolicyChange{Allow: list("localhost")})
	return [2]*core.Service{first, second}, db
}

// stranger makes an account without a binding through svc, from the
// i-th client address.
func stranger(t *testing.T, svc *core.Service, i int) (storage.ACMEAccount, error) {
	t.Helper()
	a, _, err := svc.ACMEAccountFor(context.Background(), core.NewACMEAccount{
		Key: []byte(`{"kty":"EC"}`), Thumbprint: fmt.Sprintf("stranger-%d", i),
		Client: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
	})
	return a, err
}

// atOnce runs n calls of fn at once, alternating between the nodes, and
// counts those that succeeded; any error but TooMany fails t.
func atOnce(t *testing.T, nodes [2]*core.Service, n int, fn func(svc *core.Service, i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(nodes[i%2], i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case core.KindOf(err) != core.TooMany:
				t.Errorf("call %d: %v, want success or TooMany", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return ok
}

// The ACME limits hold for the store, not for each node: however many
// requests reach two nodes at once, no more accounts without a binding,
// identifiers of one account's live orders, or certificates of accounts
// without a binding are made than the limit allows, and as many as it
// allows are.
func TestACMELimits_AcrossNodes(t *testing.T) {
	const attempts = 16
	ctx := context.Background()

	t.Run("UnboundAccounts", func(t *testing.T) {
		nodes, db := twoNodes(t, core.ACMEConfig{MaxUnboundAccounts: 4})
		made := atOnce(t, nodes, attempts, func(svc *core.Service, i int) error {
			_, err := stranger(t, svc, i)
			return err
		})
		n, err := db.CountUnboundACMEAccounts()
		if err != nil || n != 4 || made != 4 {
			t.Errorf("%d accounts made, %d stored (%v); want 4, max_unbound_accounts", made, n, err)
		}
	})

	t.Run("AccountIdentifiers", func(t *testing.T) {
		nodes, db := twoNodes(t, core.ACMEConfig{MaxAccountIdentifiers: 3})
		a, err := stranger(t, nodes[0], 1)
		if err != nil {
			t.Fatal(err)
		}
		made := atOnce(t, nodes, attempts, func(svc *core.Service, _ int) error {
			_, err := svc.NewACMEOrder(ctx, &a, core.ACMEOrderRequest{Identifiers: []storage.ACMEIdentifier{{Type: "dns", Value: "localhost"}}})
			return err
		})
		n, _, err := db.CountACMEIdentifiers(a.ID, nodes[0].Now())
		if err != nil || n != 3 || made != 3 {
			t.Errorf("%d orders made, %d identifiers counted (%v); want 3, max_account_identifiers", made, n, err)
		}
	})

	t.Run("UnboundCertificates", func(t *testing.T) {
		nodes, db := twoNodes(t, core.ACMEConfig{MaxUnboundCertificates: 3})
		type ready struct {
			a storage.ACMEAccount
			o storage.ACMEOrder
		}
		orders := make([]ready, attempts)
		for i := range orders {
			a, err := stranger(t, nodes[i%2], i)
			if err != nil {
				t.Fatal(err)
			}
			o, err := nodes[i%2].NewACMEOrder(ctx, &a, core.ACMEOrderRequest{Identifiers: []storage.ACMEIdentifier{{Type: "dns", Value: "localhost"}}})
			if err != nil || o.Status != "ready" {
				t.Fatalf("order %d: %s, %v; want ready", i, o.Status, err)
			}
			orders[i] = ready{a, o}
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"localhost"}}, key)
		if err != nil {
			t.Fatal(err)
		}
		// Each node finalizes every order at once, so that each order is
		// tried on both.
		made := atOnce(t, nodes, 2*attempts, func(svc *core.Service, i int) error {
			r := orders[i/2]
			_, err := svc.FinalizeACMEOrder(ctx, &r.a, r.o.ID, der)
			if core.KindOf(err) == core.NotReady {
				return nil // the other node finalized it, or is at it
			}
			return err
		})
		n, err := db.CountUnboundACMECertificates()
		if err != nil || n != 3 {
			t.Errorf("%d certificates counted (%v), want 3, max_unbound_certificates", n, err)
		}
		valid := 0
		for _, r := range orders {
			if o, err := db.ACMEOrder(r.o.ID); err == nil && o.Status == "valid" {
				valid++
			}
		}
		if valid != 3 || made < 3 {
			t.Errorf("%d orders valid, %d finalizes answered without TooMany; want 3 valid", valid, made)
		}
	})
}
