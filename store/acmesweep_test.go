package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/storagetest"
	"certmaker/store"
)

// TestDeleteExpiredACME_Cost: the sweep costs what it deletes, not what
// the file keeps. Two thousand valid orders stay for good (a CA's
// account renewing for years), and yet a sweep that has one expired
// order to delete takes a batch or two per pass, not one per ten orders
// kept: it finds what is due by an index of expiry.
func TestDeleteExpiredACME_Cost(t *testing.T) {
	db := mustOpen(t)
	now := time.Now().UTC()
	order := func(id string, expires time.Time) {
		t.Helper()
		az := store.ACMEAuthz{ID: id + "-az", Account: "a1", Order: id, Status: "pending", Expires: expires,
			Identifier: store.ACMEIdentifier{Type: "dns", Value: id + ".test"}}
		o := store.ACMEOrder{ID: id, Account: "a1", Status: "pending", Expires: expires, Authzs: []string{az.ID}, Identifiers: []store.ACMEIdentifier{az.Identifier}}
		if err := db.CreateACMEOrder(o, []store.ACMEAuthz{az}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2000 {
		id := fmt.Sprintf("kept%04d", i)
		order(id, now.Add(-48*time.Hour))
		if _, err := db.UpdateACMEOrder(id, func(o *store.ACMEOrder) error { o.Status = "valid"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// The first sweep deletes the kept orders' authorizations.
	q := store.ACMESweep{Before: now.Add(-24 * time.Hour), Max: 10}
	if n, _ := storagetest.SweepACME(t, db, q); n != 2000 {
		t.Fatalf("the first sweep deleted %d, want the 2000 authorizations", n)
	}
	order("abandoned", now.Add(-48*time.Hour))
	n, batches := storagetest.SweepACME(t, db, q)
	if n != 2 {
		t.Errorf("the sweep deleted %d, want the abandoned order and its authorization", n)
	}
	if batches > 6 {
		t.Errorf("the sweep took %d batches of 10 with 1 order to delete and 2000 kept: it reads what it keeps", batches)
	}
	for _, id := range []string{"kept0000", "kept1999"} {
		if o, err := db.ACMEOrder(id); err != nil || o.Status != "valid" {
			t.Errorf("valid order %s after the sweeps: %+v, %v", id, o, err)
		}
	}
}

// TestOpen_MigratesSchema6IndexingACME: a file of schema 6 has no index
// for the sweep; the migration builds it from the records, so that the
// orders, the certificates of accounts without a binding and those
// accounts made before are swept and counted like new ones.
func TestOpen_MigratesSchema6IndexingACME(t *testing.T) {
	db := mustOpen(t)
	now := time.Now().UTC()
	for _, a := range []store.ACMEAccount{
		{ID: "stranger", Owner: "bob", Thumbprint: "tp1", Status: "valid", Created: now.Add(-30 * 24 * time.Hour)},
		{ID: "idle", Owner: "bob", Thumbprint: "tp2", Status: "valid", Created: now.Add(-30 * 24 * time.Hour)},
	} {
		if _, err := db.CreateACMEAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	order := func(id string, expires time.Time) {
		t.Helper()
		az := store.ACMEAuthz{ID: id + "-az", Account: "stranger", Order: id, Status: "pending", Expires: expires,
			Identifier: store.ACMEIdentifier{Type: "dns", Value: id + ".test"}}
		o := store.ACMEOrder{ID: id, Account: "stranger", Status: "pending", Expires: expires, Authzs: []string{az.ID}, Identifiers: []store.ACMEIdentifier{az.Identifier}}
		if err := db.CreateACMEOrder(o, []store.ACMEAuthz{az}); err != nil {
			t.Fatal(err)
		}
	}
	order("abandoned", now.Add(-20*24*time.Hour))
	order("finalized", now.Add(-20*24*time.Hour))
	c := newCert("bob")
	c.KeyPKCS8, c.NotAfter = nil, now.Add(-10*24*time.Hour)
	if _, err := db.PutACMECertificate("finalized", c, func(o *store.ACMEOrder) error { o.Status, o.Serial = "valid", c.Serial; return nil }); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	closeChecked(t, db)

	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, name := range []string{"acme_expiry", "acme_unbound_accounts"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return fmt.Errorf("deleting %s: %w", name, err)
			}
		}
		if err := tx.Bucket([]byte("acme_meta")).Delete([]byte("unbound_certificates")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 6))
	})

	db = mustOpenPath(t, path)
	if n, err := db.CountUnboundACMEAccounts(); err != nil || n != 2 {
		t.Errorf("CountUnboundACMEAccounts after the migration = %d, %v; want 2", n, err)
	}
	if n, err := db.CountUnboundACMECertificates(); err != nil || n != 1 {
		t.Errorf("CountUnboundACMECertificates after the migration = %d, %v; want 1", n, err)
	}
	n, _ := storagetest.SweepACME(t, db, store.ACMESweep{Before: now.Add(-24 * time.Hour), Idle: now.Add(-7 * 24 * time.Hour)})
	// Both orders, both authorizations, both accounts.
	if n != 6 {
		t.Errorf("the sweep after the migration deleted %d, want 6", n)
	}
	if _, err := db.ACMEAccount("stranger"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the stranger's account after the sweep: %v", err)
	}
	if _, err := db.Certificate(c.Serial); err != nil {
		t.Errorf("the certificate after the sweep: %v", err)
	}
}
