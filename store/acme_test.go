package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/store"
)

// TestACMENonceKey: the nonce key is made once and survives a restart;
// used nonces an older certmaker recorded are emptied out.
func TestACMENonceKey(t *testing.T) {
	db := mustOpen(t)
	key, err := db.ACMENonceKey()
	if err != nil || len(key) != 32 {
		t.Fatalf("nonce key %x, %v", key, err)
	}
	path := db.Path()
	closeChecked(t, db)

	// What an older certmaker left: issue time + random, per used nonce.
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("acme_nonces"))
		for i := range 1000 {
			id := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Unix()))
			if err := b.Put(binary.BigEndian.AppendUint64(id, uint64(i)), nil); err != nil {
				return err
			}
		}
		return nil
	})

	db = mustOpenPath(t, path)
	if again, err := db.ACMENonceKey(); err != nil || string(again) != string(key) {
		t.Errorf("nonce key changed across a restart")
	}
	closeChecked(t, db)
	raw, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("acme_nonces"))
		if b == nil {
			t.Error("acme_nonces bucket is gone; an older certmaker expects it")
		} else if n := b.Stats().KeyN; n != 0 {
			t.Errorf("%d old used nonces left", n)
		}
		return nil
	})
}

func TestACMEAccounts(t *testing.T) {
	db := mustOpen(t)
	a := store.ACMEAccount{ID: "a1", Owner: "alice", Thumbprint: "k1", Key: []byte(`{}`), Status: "valid"}
	if _, err := db.CreateACMEAccount(a); err != nil {
		t.Fatal(err)
	}
	b := store.ACMEAccount{ID: "b1", Owner: "bob", Thumbprint: "k2", Key: []byte(`{}`), Status: "valid"}
	if _, err := db.CreateACMEAccount(b); err != nil {
		t.Fatal(err)
	}
	dup := a
	dup.ID = "a2"
	if got, err := db.CreateACMEAccount(dup); !errors.Is(err, store.ErrExists) || got.ID != "a1" {
		t.Errorf("account for a key in use: %q, %v", got.ID, err)
	}
	// Rolling a1 onto b1's key is refused, and nothing changes.
	if _, err := db.UpdateACMEAccount("a1", func(a *store.ACMEAccount) error { a.Thumbprint = "k2"; return nil }); !errors.Is(err, store.ErrExists) {
		t.Errorf("rollover onto a key in use: %v", err)
	}
	if _, err := db.UpdateACMEAccount("a1", func(a *store.ACMEAccount) error { a.Thumbprint = "k3"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ACMEAccountByKey("k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old key still finds the account: %v", err)
	}
	if got, err := db.ACMEAccountByKey("k3"); err != nil || got.ID != "a1" {
		t.Errorf("new key finds %q, %v", got.ID, err)
	}
}

func TestACMEOrders(t *testing.T) {
	db := mustOpen(t)
	o := store.ACMEOrder{ID: "o1", Account: "a1", Status: "pending", Authzs: []string{"z1"},
		Identifiers: []store.ACMEIdentifier{{Type: "dns", Value: "app.test"}}, Expires: time.Now().Add(time.Hour)}
	az := store.ACMEAuthz{ID: "z1", Account: "a1", Order: "o1", Status: "pending",
		Challenges: []store.ACMEChallenge{{ID: "c1", Type: "http-01", Token: "t", Status: "pending"}}}
	if err := db.CreateACMEOrder(o, []store.ACMEAuthz{az}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateACMEOrder(o, nil); !errors.Is(err, store.ErrExists) {
		t.Errorf("same order twice: %v", err)
	}
	serial := big.NewInt(12345)
	if _, err := db.ACMEOrderBySerial(serial); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("order of an unissued serial: %v", err)
	}
	if _, err := db.UpdateACMEOrder("o1", func(o *store.ACMEOrder) error { o.Status, o.Serial = "valid", serial; return nil }); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	closeChecked(t, db)
	db = mustOpenPath(t, path)
	got, err := db.ACMEOrderBySerial(serial)
	if err != nil || got.ID != "o1" || got.Status != "valid" || got.Serial.Cmp(serial) != 0 {
		t.Errorf("order by serial after restart: %+v, %v", got, err)
	}
	if ids, _, err := db.ACMEOrders("a1", "", 10); err != nil || len(ids) != 1 || ids[0] != "o1" {
		t.Errorf("orders of a1: %v, %v", ids, err)
	}
	if ids, _, _ := db.ACMEOrders("a", "", 10); len(ids) != 0 {
		t.Errorf("orders of a prefix of a1's id: %v", ids)
	}
	if got, err := db.ACMEAuthz("z1"); err != nil || got.Challenges[0].Token != "t" {
		t.Errorf("authorization after restart: %+v, %v", got, err)
	}
}

// TestACMEAuthzFor: the latest authorization an order made for an account
// and identifier, kept across a restart; none for another account, another
// identifier, or a file with no order yet.
func TestACMEAuthzFor(t *testing.T) {
	db := mustOpen(t)
	app := store.ACMEIdentifier{Type: "dns", Value: "app.test"}
	if _, err := db.ACMEAuthzFor("a1", app); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("before any order: %v", err)
	}
	order := func(id, authz string, ids ...store.ACMEIdentifier) {
		t.Helper()
		var azs []store.ACMEAuthz
		o := store.ACMEOrder{ID: id, Account: "a1", Status: "pending", Expires: time.Now().Add(time.Hour)}
		for i, ident := range ids {
			az := store.ACMEAuthz{ID: authz + fmt.Sprint(i), Account: "a1", Order: id, Identifier: ident, Status: "pending"}
			azs = append(azs, az)
			o.Identifiers, o.Authzs = append(o.Identifiers, ident), append(o.Authzs, az.ID)
		}
		if err := db.CreateACMEOrder(o, azs); err != nil {
			t.Fatal(err)
		}
	}
	order("o1", "z1-", app, store.ACMEIdentifier{Type: "ip", Value: "10.0.0.1"})
	order("o2", "z2-", app)
	path := db.Path()
	closeChecked(t, db)
	db = mustOpenPath(t, path)
	if az, err := db.ACMEAuthzFor("a1", app); err != nil || az.ID != "z2-0" {
		t.Errorf("latest of app.test: %+v, %v", az, err)
	}
	if az, err := db.ACMEAuthzFor("a1", store.ACMEIdentifier{Type: "ip", Value: "10.0.0.1"}); err != nil || az.ID != "z1-1" {
		t.Errorf("latest of 10.0.0.1: %+v, %v", az, err)
	}
	for _, tc := range []struct {
		account string
		id      store.ACMEIdentifier
	}{{"a2", app}, {"a", app}, {"a1", store.ACMEIdentifier{Type: "ip", Value: "app.test"}}, {"a1", store.ACMEIdentifier{Type: "dns", Value: "app"}}} {
		if _, err := db.ACMEAuthzFor(tc.account, tc.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s %v: %v", tc.account, tc.id, err)
		}
	}
}

func TestACMEEAB(t *testing.T) {
	db := mustOpen(t)
	k := store.ACMEEAB{ID: "kid", Owner: "alice", Key: []byte("secret")}
	if err := db.CreateACMEEAB(k); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EAB key for a missing user: %v", err)
	}
	if err := db.CreateUser(store.User{Name: "alice", TokenHash: store.HashToken("t")}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateACMEEAB(k); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateACMEEAB(k); !errors.Is(err, store.ErrExists) {
		t.Errorf("same key id twice: %v", err)
	}
	if got, err := db.ACMEEABKey("kid"); err != nil || got.Owner != "alice" || string(got.Key) != "secret" {
		t.Errorf("EAB key %+v, %v", got, err)
	}
}

// TestACMEFinalizeCommit: an authorization and its order change in one
// commit, and an order's certificate is stored with the order made valid
// or not at all.
func TestACMEFinalizeCommit(t *testing.T) {
	db := mustOpen(t)
	o := store.ACMEOrder{ID: "o1", Account: "a1", Status: "pending", Authzs: []string{"z1", "z2"}, Expires: time.Now().Add(time.Hour)}
	var azs []store.ACMEAuthz
	for _, id := range o.Authzs {
		azs = append(azs, store.ACMEAuthz{ID: id, Account: "a1", Order: "o1", Status: "pending"})
	}
	if err := db.CreateACMEOrder(o, azs); err != nil {
		t.Fatal(err)
	}
	// The order function sees every authorization as the commit leaves it.
	ready := func(o *store.ACMEOrder, all []store.ACMEAuthz) error {
		o.Status = "ready"
		for _, az := range all {
			if az.Status != "valid" {
				o.Status = "pending"
			}
		}
		return nil
	}
	valid := func(az *store.ACMEAuthz) error { az.Status = "valid"; return nil }
	if _, got, err := db.UpdateACMEAuthz("z1", valid, ready); err != nil || got.Status != "pending" {
		t.Fatalf("order after one of two authorizations: %+v, %v", got, err)
	}
	if _, got, err := db.UpdateACMEAuthz("z2", valid, ready); err != nil || got.Status != "ready" {
		t.Fatalf("order after both authorizations: %+v, %v", got, err)
	}
	refusal := errors.New("no")
	if _, _, err := db.UpdateACMEAuthz("z2", func(az *store.ACMEAuthz) error { az.Status = "x"; return nil },
		func(*store.ACMEOrder, []store.ACMEAuthz) error { return refusal }); !errors.Is(err, refusal) {
		t.Errorf("refused order change: %v", err)
	}
	if az, _ := db.ACMEAuthz("z2"); az.Status != "valid" {
		t.Errorf("authorization written although its order change was refused: %+v", az)
	}

	c := newCert("alice")
	if _, err := db.PutACMECertificate("o1", c, func(*store.ACMEOrder) error { return refusal }); !errors.Is(err, refusal) {
		t.Errorf("refused finalize: %v", err)
	}
	if _, err := db.Certificate(c.Serial); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("certificate stored although its order refused it: %v", err)
	}
	if _, err := db.PutACMECertificate("o1", c, func(o *store.ACMEOrder) error { o.Status = "valid"; return nil }); err == nil {
		t.Error("an order left without the certificate's serial took it")
	}
	got, err := db.PutACMECertificate("o1", c, func(o *store.ACMEOrder) error { o.Status, o.Serial = "valid", c.Serial; return nil })
	if err != nil || got.Status != "valid" {
		t.Fatalf("finalize: %+v, %v", got, err)
	}
	path := db.Path()
	closeChecked(t, db)
	db = mustOpenPath(t, path)
	if got, err := db.ACMEOrderBySerial(c.Serial); err != nil || got.ID != "o1" || got.Status != "valid" {
		t.Errorf("order by serial after restart: %+v, %v", got, err)
	}
	if _, err := db.Certificate(c.Serial); err != nil {
		t.Errorf("certificate after restart: %v", err)
	}
	if _, err := db.PutACMECertificate("o1", newCert("alice"), func(o *store.ACMEOrder) error { return nil }); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second certificate for the order: %v", err)
	}
}
