package acme_test

import (
	"encoding/binary"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// lastTxID reads the id of the last committed write transaction from the
// database file's two meta pages (bbolt: page header 16 bytes, then magic,
// version, page size, flags, root bucket, freelist, pgid, txid). Every
// write transaction bumps it by one, so the difference between two reads
// counts commits.
func lastTxID(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta := func(off int64) (pageSize uint32, txid uint64) {
		b := make([]byte, 80)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint64(b[64:])
	}
	pageSize, a := meta(0)
	_, b := meta(int64(pageSize))
	return max(a, b)
}

// TestOrder_Commits: a whole order is one commit per answer that depends
// on a write: the new order, each challenge (with the order it makes
// ready), and finalize (certificate and order valid). An order of two names
// was nine: challenge processing, challenge valid, order ready, order
// claimed and order valid were commits of their own.
func TestOrder_Commits(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	c.obtain(dns("app.test")) // the first order may make buckets
	before := lastTxID(t, e.dbPath)
	c.obtain(dns("app.test", "www.app.test"))
	if n := lastTxID(t, e.dbPath) - before; n > 4 {
		t.Errorf("an order with two names took %d commits, want at most 4", n)
	}
}

// TestFinalize_NeverStoredProcessing: the certificate and the order's
// valid status are one commit, so that a process that dies at any point
// leaves the order ready (no certificate: finalize again) or valid (with
// its certificate), never processing with nobody left to finish it. The
// store is read as fast as it goes while orders are finalized: every state
// it shows is one a crash could leave.
func TestFinalize_NeverStoredProcessing(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	for range 5 {
		o := c.newOrder(dns("app.test"))
		c.answer(o)
		id := o.url[len(e.url+"/acme/order/"):]
		stop := make(chan struct{})
		var seen []string
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				so, err := e.db.ACMEOrder(id)
				if err != nil {
					t.Error(err)
					return
				}
				if n := len(seen); n == 0 || seen[n-1] != so.Status {
					seen = append(seen, so.Status)
				}
				if so.Status == "valid" && so.Serial == nil {
					t.Error("order stored valid without its certificate")
				}
			}
		})
		der, _ := csr(t, "", []string{"app.test"}, nil)
		c.finalize(o, der).want(t, http.StatusOK)
		close(stop)
		wg.Wait()
		for _, st := range seen {
			if st != "ready" && st != "valid" {
				t.Fatalf("the store held the order as %q during finalize (states seen: %v)", st, seen)
			}
		}
	}
}

// TestChallenge_Concurrent: a challenge posted by several requests at once
// is fetched once (the claim is in memory now, not a commit); the others
// say processing or, once it is done, valid.
func TestChallenge_Concurrent(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	o := c.newOrder(dns("app.test"))
	az := c.authz(o.Authorizations[0])
	ch := http01(t, az)
	e.solver.set(ch.Token, c.keyAuthorization(ch.Token))
	var wg sync.WaitGroup
	statuses := make([]string, 4)
	for i := range statuses {
		cc := *c
		cc.nonce = e.freshNonce()
		wg.Go(func() {
			var got challengeDoc
			cc.post(ch.URL, struct{}{}, jwsOptions{}).want(t, http.StatusOK).json(t, &got)
			statuses[i] = got.Status
		})
	}
	wg.Wait()
	for _, st := range statuses {
		if st != "valid" && st != "processing" {
			t.Errorf("challenge answers %v", statuses)
		}
	}
	if got := c.authz(o.Authorizations[0]); got.Status != "valid" {
		t.Errorf("authorization %s", got.Status)
	}
	e.solver.mu.Lock()
	defer e.solver.mu.Unlock()
	if e.solver.fetches != 1 {
		t.Errorf("%d fetches for one challenge", e.solver.fetches)
	}
	if got := c.order(o.url); got.Status != "ready" {
		t.Errorf("order %s", got.Status)
	}
}
