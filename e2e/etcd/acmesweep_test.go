package etcd

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"certmaker/storage"
	"certmaker/storage/storagetest"
)

// acmeOrder stores an order of account with names authorizations of its
// own, each expiring with it; valid, it stays for good.
func acmeOrder(t *testing.T, st storage.Store, id, account string, names int, expires time.Time, valid bool) []storage.ACMEAuthz {
	t.Helper()
	o := storage.ACMEOrder{ID: id, Account: account, Status: "pending", Expires: expires, Created: expires.Add(-time.Hour)}
	var azs []storage.ACMEAuthz
	for i := range names {
		ident := storage.ACMEIdentifier{Type: "dns", Value: fmt.Sprintf("%s-%d.lan", id, i)}
		az := storage.ACMEAuthz{ID: fmt.Sprintf("%s-az%d", id, i), Account: account, Order: id, Identifier: ident, Status: "pending", Expires: expires}
		o.Identifiers, o.Authzs, azs = append(o.Identifiers, ident), append(o.Authzs, az.ID), append(azs, az)
	}
	if err := st.CreateACMEOrder(o, azs); err != nil {
		t.Fatal(err)
	}
	if valid {
		if _, err := st.UpdateACMEOrder(id, func(o *storage.ACMEOrder) error { o.Status = "valid"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return azs
}

// The sweep on etcd costs what it deletes, as on the file: with many
// valid orders kept, a sweep that has one order to delete takes a batch
// or two per pass. An order of ca.MaxNames names goes whole, in the few
// transactions etcd's limits take, and so do the authorizations of a
// valid one of as many names; each one's latest-authorization entry
// goes with it.
func TestDeleteExpiredACME_Etcd(t *testing.T) {
	db := openStore(t)
	for i := range 300 {
		acmeOrder(t, db, fmt.Sprintf("kept%03d", i), "a1", 1, t0.Add(-48*time.Hour), true)
	}
	big := acmeOrder(t, db, "big", "a1", 100, t0.Add(-48*time.Hour), false)
	bigValid := acmeOrder(t, db, "big-valid", "a2", 100, t0.Add(-48*time.Hour), true)
	q := storage.ACMESweep{Before: t0.Add(-24 * time.Hour), Max: 10}
	// 300 authorizations of kept orders, big and its 100, big-valid's 100.
	if n, _ := storagetest.SweepACME(t, db, q); n != 300+101+100 {
		t.Fatalf("the first sweep deleted %d, want %d", n, 300+101+100)
	}
	for _, az := range append(big, bigValid...) {
		if _, err := db.ACMEAuthz(az.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("authorization %s after the sweep: %v", az.ID, err)
		}
		if _, err := db.ACMEAuthzFor(az.Account, az.Identifier); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the latest authorization of %s after the sweep: %v", az.Identifier.Value, err)
		}
	}
	if o, err := db.ACMEOrder("big-valid"); err != nil || o.Status != "valid" {
		t.Fatalf("the valid order after the sweep: %+v, %v", o, err)
	}

	acmeOrder(t, db, "abandoned", "a1", 1, t0.Add(-48*time.Hour), false)
	n, batches := storagetest.SweepACME(t, db, q)
	if n != 2 {
		t.Errorf("the sweep deleted %d, want the abandoned order and its authorization", n)
	}
	if batches > 6 {
		t.Errorf("the sweep took %d batches of 10 with 1 order to delete and 301 kept: it reads what it keeps", batches)
	}
	if ids, _, err := db.ACMEOrders("a1", "", 1000); err != nil || len(ids) != 300 {
		t.Errorf("a1 has %d orders after the sweeps (%v), want the 300 valid ones", len(ids), err)
	}
}

// Two nodes that sweep at once delete each thing once: every deletion
// compares what it read, so between them they count each record once,
// and nothing is left.
func TestDeleteExpiredACME_TwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	for i := range 40 {
		acmeOrder(t, a, fmt.Sprintf("o%02d", i), "acct", 3, t0.Add(-48*time.Hour), false)
	}
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, st := range []storage.Store{a, b} {
		wg.Go(func() {
			q := storage.ACMESweep{Before: t0, Max: 5}
			for {
				n, next, err := st.DeleteExpiredACME(q)
				if err != nil {
					t.Errorf("node %d: %v", i, err)
					return
				}
				counts[i] += n
				if next == "" {
					return
				}
				q.After = next
			}
		})
	}
	wg.Wait()
	if counts[0]+counts[1] != 40*4 {
		t.Errorf("the nodes deleted %d and %d, want %d between them", counts[0], counts[1], 40*4)
	}
	if ids, _, err := a.ACMEOrders("acct", "", 100); err != nil || len(ids) != 0 {
		t.Errorf("orders left: %v, %v", ids, err)
	}
	if n, _, err := a.CountACMEIdentifiers("acct", t0.Add(-72*time.Hour)); err != nil || n != 0 {
		t.Errorf("identifiers counted after the sweep: %d, %v", n, err)
	}
}
