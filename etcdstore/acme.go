package etcdstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// ACMENonceKey returns the key that authenticates ACME nonces, made by
// the first node that asks: every node then authenticates the others'.
func (db *DB) ACMENonceKey() ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("making nonce key: %w", err)
	}
	var key []byte
	_, err := db.update(func(t *tx) error {
		k := db.key(tMeta, kNonceKey)
		v, err := t.get(k)
		if err != nil {
			return err
		}
		if v != nil {
			key, err = db.open(seal.NonceKey, "", v)
			if err != nil || len(key) == 32 {
				return err
			}
		}
		if err := t.sealedNow(); err != nil {
			return err
		}
		sealed, err := db.keys.Seal(seal.NonceKey, "", fresh)
		if err != nil {
			return err
		}
		key = fresh
		t.put(k, sealed)
		return nil
	})
	return key, err
}

// getRecord decodes one record, ErrNotFound if absent.
func getRecord[T any](t *tx, table, what, id string, rec *T) error {
	v, err := t.get(t.db.key(table, id))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("%s %q: %w", what, id, storage.ErrNotFound)
	}
	var zero T
	*rec = zero
	return codec.Decode(v, rec)
}

func putRecord[T any](t *tx, table, id string, rec T) error {
	v, err := codec.Encode(rec)
	if err != nil {
		return err
	}
	t.put(t.db.key(table, id), v)
	return nil
}

// absent reads a key that must not exist yet.
func (t *tx) absent(key string, what string) error {
	v, err := t.get(key)
	if err != nil {
		return err
	}
	if v != nil {
		return fmt.Errorf("%s: %w", what, storage.ErrExists)
	}
	return nil
}

// CreateACMEEAB stores a new EAB key of an existing user.
func (db *DB) CreateACMEEAB(k storage.ACMEEAB) error {
	plain := k.Key
	_, err := db.update(func(t *tx) error {
		if err := t.sealedNow(); err != nil {
			return err
		}
		sealed, err := db.keys.Seal(seal.EABKey, k.ID, plain)
		if err != nil {
			return err
		}
		k.Key = sealed
		var u storage.User
		if err := t.user(k.Owner, &u); err != nil {
			return err
		}
		if err := t.absent(db.key(tEAB, k.ID), "EAB key "+k.ID); err != nil {
			return err
		}
		return putRecord(t, tEAB, k.ID, k)
	})
	return err
}

// ACMEEABs lists the EAB keys of owner (every user's for ""), oldest
// first, with how many accounts each bound (counted from the index).
func (db *DB) ACMEEABs(owner string) ([]storage.ACMEEABInfo, error) {
	var out []storage.ACMEEABInfo
	err := db.view(func(t *tx) error {
		if owner != "" {
			var u storage.User
			if err := t.user(owner, &u); err != nil {
				return err
			}
		}
		p := db.key(tEAB, "")
		err := t.each(p, prefixEnd(p), func(_ string, v []byte) error {
			var k storage.ACMEEAB
			if err := codec.Decode(v, &k); err != nil {
				return err
			}
			if owner == "" || k.Owner == owner {
				out = append(out, storage.ACMEEABInfo{ID: k.ID, Owner: k.Owner, Created: k.Created})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range out {
			bp := db.key(tAccountEAB, scoped(out[i].ID, ""))
			if out[i].Accounts, err = t.count(bp, prefixEnd(bp)); err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b storage.ACMEEABInfo) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// RevokeACMEEAB deletes an EAB key and deactivates the accounts it bound,
// found by the index of accounts by key. The key goes in the first
// transaction with as many accounts as fit; the rest follow a batch at a
// time (each comparing what it read), and a second call finishes what a
// crash left. An account being created with the key fails: its
// transaction compares the key.
func (db *DB) RevokeACMEEAB(id string) (int, error) {
	n := 0
	first := true
	for {
		var done bool
		var deactivated int
		_, err := db.update(func(t *tx) error {
			deactivated = 0
			if first {
				v, err := t.get(db.key(tEAB, id))
				if err != nil {
					return err
				}
				if v == nil {
					return fmt.Errorf("EAB key %q: %w", id, storage.ErrNotFound)
				}
				t.del(db.key(tEAB, id))
			}
			bp := db.key(tAccountEAB, scoped(id, ""))
			kvs, more, err := t.scan(bp, prefixEnd(bp), maxOps/2-1)
			if err != nil {
				return err
			}
			done = !more
			for _, kv := range kvs {
				acct := string(kv.Key[len(bp):])
				var a storage.ACMEAccount
				if err := getRecord(t, tAccounts, "ACME account", acct, &a); err != nil {
					return err
				}
				if a.Status != acmeDeactivated {
					a.Status = acmeDeactivated
					if err := putRecord(t, tAccounts, a.ID, a); err != nil {
						return err
					}
					deactivated++
				}
				// The entry goes with the deactivation: what is left is
				// what a resumed revocation must still do.
				t.reads[string(kv.Key)] = kv.ModRevision
				t.del(string(kv.Key))
			}
			return nil
		})
		if err != nil {
			if !first && errors.Is(err, storage.ErrNotFound) {
				return n, nil
			}
			return n, err
		}
		n += deactivated
		first = false
		if done {
			return n, nil
		}
	}
}

const acmeDeactivated = "deactivated"

// ACMEEABKey reads an EAB key by its id.
func (db *DB) ACMEEABKey(id string) (storage.ACMEEAB, error) {
	var k storage.ACMEEAB
	err := db.view(func(t *tx) error { return getRecord(t, tEAB, "EAB key", id, &k) })
	if err == nil {
		k.Key, err = db.open(seal.EABKey, k.ID, k.Key)
	}
	return k, err
}

// CreateACMEAccount stores a new account unless its key has one already:
// then it returns that account and ErrExists. An account bound by an EAB
// key is stored only while the key exists.
func (db *DB) CreateACMEAccount(a storage.ACMEAccount) (storage.ACMEAccount, error) {
	var existing storage.ACMEAccount
	_, err := db.update(func(t *tx) error {
		existing = storage.ACMEAccount{}
		if a.EABKeyID != "" {
			v, err := t.get(db.key(tEAB, a.EABKeyID))
			if err != nil {
				return err
			}
			if v == nil {
				return fmt.Errorf("EAB key %q: %w", a.EABKeyID, storage.ErrNotFound)
			}
		}
		id, err := t.get(db.key(tAccountKeys, a.Thumbprint))
		if err != nil {
			return err
		}
		if id != nil {
			if err := getRecord(t, tAccounts, "ACME account", string(id), &existing); err != nil {
				return err
			}
			return fmt.Errorf("ACME account for this key: %w", storage.ErrExists)
		}
		if err := t.absent(db.key(tAccounts, a.ID), "ACME account "+a.ID); err != nil {
			return err
		}
		t.put(db.key(tAccountKeys, a.Thumbprint), []byte(a.ID))
		if a.EABKeyID != "" {
			t.put(db.key(tAccountEAB, scoped(a.EABKeyID, a.ID)), nil)
		}
		return putRecord(t, tAccounts, a.ID, a)
	})
	if errors.Is(err, storage.ErrExists) && existing.ID != "" {
		return existing, err
	}
	return a, err
}

// ACMEAccount reads an account by id.
func (db *DB) ACMEAccount(id string) (storage.ACMEAccount, error) {
	var a storage.ACMEAccount
	err := db.view(func(t *tx) error { return getRecord(t, tAccounts, "ACME account", id, &a) })
	return a, err
}

// ACMEAccountByKey finds the account of a key by its JWK thumbprint.
func (db *DB) ACMEAccountByKey(thumbprint string) (storage.ACMEAccount, error) {
	var a storage.ACMEAccount
	err := db.view(func(t *tx) error {
		id, err := t.get(db.key(tAccountKeys, thumbprint))
		if err != nil {
			return err
		}
		if id == nil {
			return fmt.Errorf("ACME account for key: %w", storage.ErrNotFound)
		}
		return getRecord(t, tAccounts, "ACME account", string(id), &a)
	})
	return a, err
}

// UpdateACMEAccount changes an account in one transaction; a new
// thumbprint (key rollover) moves the key index in the same commit.
func (db *DB) UpdateACMEAccount(id string, fn func(*storage.ACMEAccount) error) (storage.ACMEAccount, error) {
	var a storage.ACMEAccount
	_, err := db.update(func(t *tx) error {
		if err := getRecord(t, tAccounts, "ACME account", id, &a); err != nil {
			return err
		}
		old := a.Thumbprint
		if err := fn(&a); err != nil {
			return err
		}
		if a.ID != id {
			return fmt.Errorf("ACME account %s: the id cannot change", id)
		}
		if a.Thumbprint != old {
			if err := t.absent(db.key(tAccountKeys, a.Thumbprint), "ACME account for the new key"); err != nil {
				return err
			}
			t.del(db.key(tAccountKeys, old))
			t.put(db.key(tAccountKeys, a.Thumbprint), []byte(id))
		}
		return putRecord(t, tAccounts, id, a)
	})
	return a, err
}

// CreateACMEOrder stores a new order with its authorizations in one
// transaction (an order has at most ca.MaxNames of them), and as many of
// their latest-authorization entries as fit; the others follow.
func (db *DB) CreateACMEOrder(o storage.ACMEOrder, authzs []storage.ACMEAuthz) error {
	rev, err := db.update(func(t *tx) error {
		keys := []string{db.key(tOrders, o.ID)}
		for _, az := range authzs {
			keys = append(keys, db.key(tAuthzs, az.ID))
		}
		vals, err := t.getAll(keys)
		if err != nil {
			return err
		}
		for i, v := range vals {
			if v == nil {
				continue
			}
			if i == 0 {
				return fmt.Errorf("ACME order %s: %w", o.ID, storage.ErrExists)
			}
			return fmt.Errorf("ACME authorization %s: %w", authzs[i-1].ID, storage.ErrExists)
		}
		for _, az := range authzs {
			if err := putRecord(t, tAuthzs, az.ID, az); err != nil {
				return err
			}
		}
		t.put(db.key(tAccountOrders, scoped(o.Account, o.ID)), nil)
		if err := putRecord(t, tOrders, o.ID, o); err != nil {
			return err
		}
		// The latest-authorization entries are written without a read:
		// this commit is the latest. Those that do not fit follow.
		for _, az := range authzs[:min(len(authzs), maxOps-len(t.ops))] {
			t.put(db.latestAuthzKey(az.Account, az.Identifier), latestAuthz(o, az))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n := maxOps - len(authzs) - 2; n < len(authzs) {
		return db.latestAuthzs(o, authzs[max(n, 0):], rev)
	}
	return nil
}

// latestAuthz is a latest-authorization entry's value: the creation of
// the order that made az (which a migration compares), then az's id.
func latestAuthz(o storage.ACMEOrder, az storage.ACMEAuthz) []byte {
	return append(binary.BigEndian.AppendUint64(nil, nanos(o.Created)), az.ID...)
}

// newerAuthz says whether a latest-authorization entry v is older than
// one for az of o (a migration's order of events: the orders' creation).
func newerAuthz(v []byte, o storage.ACMEOrder, az storage.ACMEAuthz) bool {
	return v == nil || len(v) < 8 || string(v) < string(latestAuthz(o, az))
}

func (db *DB) latestAuthzKey(account string, id storage.ACMEIdentifier) string {
	return db.key(tAccountAuthzs, scoped(account, scoped(id.Type, id.Value)))
}

// latestAuthzs points the latest-authorization entries at authzs, an
// order's committed at rev that its transaction had no room for; an
// entry a later order wrote since is left alone. Should this fail, the
// order stands and only misses the reuse of these authorizations.
func (db *DB) latestAuthzs(o storage.ACMEOrder, authzs []storage.ACMEAuthz, rev int64) error {
	put := func(azs []storage.ACMEAuthz) (bool, error) {
		cmps := make([]clientv3.Cmp, len(azs))
		ops := make([]clientv3.Op, len(azs))
		for i, az := range azs {
			k := db.latestAuthzKey(az.Account, az.Identifier)
			cmps[i] = clientv3.Compare(clientv3.ModRevision(k), "<", rev)
			ops[i] = clientv3.OpPut(k, string(latestAuthz(o, az)))
		}
		var ok bool
		err := db.do(func(ctx context.Context) error {
			resp, err := db.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
			if err == nil {
				ok = resp.Succeeded
			}
			return err
		})
		return ok, err
	}
	for len(authzs) > 0 {
		chunk := authzs[:min(len(authzs), maxOps)]
		authzs = authzs[len(chunk):]
		ok, err := put(chunk)
		if err != nil {
			return fmt.Errorf("ACME order: writing its latest authorizations: %w", err)
		}
		if ok {
			continue
		}
		// Some entry is newer: the others one by one.
		for i := range chunk {
			if _, err := put(chunk[i : i+1]); err != nil {
				return fmt.Errorf("ACME order: writing its latest authorizations: %w", err)
			}
		}
	}
	return nil
}

// ACMEAuthzFor reads the latest authorization CreateACMEOrder stored for
// an account and identifier.
func (db *DB) ACMEAuthzFor(account string, id storage.ACMEIdentifier) (storage.ACMEAuthz, error) {
	var az storage.ACMEAuthz
	err := db.view(func(t *tx) error {
		v, err := t.get(db.latestAuthzKey(account, id))
		if err != nil {
			return err
		}
		if len(v) <= 8 {
			return fmt.Errorf("ACME authorization of %s:%s: %w", id.Type, id.Value, storage.ErrNotFound)
		}
		return getRecord(t, tAuthzs, "ACME authorization", string(v[8:]), &az)
	})
	return az, err
}

// ACMEOrder reads an order by id.
func (db *DB) ACMEOrder(id string) (storage.ACMEOrder, error) {
	var o storage.ACMEOrder
	err := db.view(func(t *tx) error { return getRecord(t, tOrders, "ACME order", id, &o) })
	return o, err
}

// ACMEOrders lists the ids of an account's orders.
func (db *DB) ACMEOrders(account string) ([]string, error) {
	var out []string
	err := db.view(func(t *tx) error {
		p := db.key(tAccountOrders, scoped(account, ""))
		return t.each(p, prefixEnd(p), func(k string, _ []byte) error {
			out = append(out, k[len(p):])
			return nil
		})
	})
	return out, err
}

// UpdateACMEOrder changes an order in one transaction; setting Serial
// also records which order the certificate came from.
func (db *DB) UpdateACMEOrder(id string, fn func(*storage.ACMEOrder) error) (storage.ACMEOrder, error) {
	var o storage.ACMEOrder
	_, err := db.update(func(t *tx) error {
		if err := getRecord(t, tOrders, "ACME order", id, &o); err != nil {
			return err
		}
		had := o.Serial != nil
		if err := fn(&o); err != nil {
			return err
		}
		if o.ID != id {
			return fmt.Errorf("ACME order %s: the id cannot change", id)
		}
		if !had && o.Serial != nil {
			t.put(db.key(tACMECerts, serialKey(o.Serial)), []byte(id))
		}
		return putRecord(t, tOrders, id, o)
	})
	return o, err
}

// ACMEOrderBySerial finds the order that issued a certificate.
func (db *DB) ACMEOrderBySerial(serial *big.Int) (storage.ACMEOrder, error) {
	var o storage.ACMEOrder
	err := db.view(func(t *tx) error {
		if serial == nil || serial.Sign() <= 0 {
			return fmt.Errorf("ACME certificate %v: %w", serial, storage.ErrNotFound)
		}
		id, err := t.get(db.key(tACMECerts, serialKey(serial)))
		if err != nil {
			return err
		}
		if id == nil {
			return fmt.Errorf("ACME certificate %s: %w", serial, storage.ErrNotFound)
		}
		return getRecord(t, tOrders, "ACME order", string(id), &o)
	})
	return o, err
}

// ACMEAuthz reads an authorization by id.
func (db *DB) ACMEAuthz(id string) (storage.ACMEAuthz, error) {
	var az storage.ACMEAuthz
	err := db.view(func(t *tx) error { return getRecord(t, tAuthzs, "ACME authorization", id, &az) })
	return az, err
}

// UpdateACMEAuthz changes an authorization and, in the same transaction,
// its order, which order sees with all its authorizations as they stand.
func (db *DB) UpdateACMEAuthz(id string, fn func(*storage.ACMEAuthz) error, order func(*storage.ACMEOrder, []storage.ACMEAuthz) error) (storage.ACMEAuthz, storage.ACMEOrder, error) {
	var az storage.ACMEAuthz
	var o storage.ACMEOrder
	_, err := db.update(func(t *tx) error {
		o = storage.ACMEOrder{}
		if err := getRecord(t, tAuthzs, "ACME authorization", id, &az); err != nil {
			return err
		}
		if err := fn(&az); err != nil {
			return err
		}
		if az.ID != id {
			return fmt.Errorf("ACME authorization %s: the id cannot change", id)
		}
		if order != nil {
			if err := getRecord(t, tOrders, "ACME order", az.Order, &o); err != nil {
				return err
			}
			var others []string
			for _, other := range o.Authzs {
				if other != id {
					others = append(others, db.key(tAuthzs, other))
				}
			}
			vals, err := t.getAll(others)
			if err != nil {
				return err
			}
			all := make([]storage.ACMEAuthz, len(o.Authzs))
			j := 0
			for i, other := range o.Authzs {
				if other == id {
					all[i] = az
					continue
				}
				if vals[j] == nil {
					return fmt.Errorf("ACME authorization %q: %w", other, storage.ErrNotFound)
				}
				if err := codec.Decode(vals[j], &all[i]); err != nil {
					return err
				}
				j++
			}
			orderID, serial := o.ID, o.Serial
			if err := order(&o, all); err != nil {
				return err
			}
			if o.ID != orderID || o.Serial != serial {
				return fmt.Errorf("ACME order %s: an authorization may change only its status", orderID)
			}
			if err := putRecord(t, tOrders, o.ID, o); err != nil {
				return err
			}
		}
		return putRecord(t, tAuthzs, id, az)
	})
	return az, o, err
}

// PutACMECertificate stores an order's certificate and the order as fn
// leaves it in one transaction (plus, for a certificate with many names,
// the rest of its name entries after).
func (db *DB) PutACMECertificate(orderID string, c *storage.Certificate, fn func(*storage.ACMEOrder) error) (storage.ACMEOrder, error) {
	w, err := db.newCertWrite(c)
	if err != nil {
		return storage.ACMEOrder{}, err
	}
	var o storage.ACMEOrder
	var rest []string
	_, err = db.update(func(t *tx) error {
		if err := getRecord(t, tOrders, "ACME order", orderID, &o); err != nil {
			return err
		}
		if o.Serial != nil {
			return fmt.Errorf("ACME order %s has a certificate: %w", orderID, storage.ErrExists)
		}
		if err := fn(&o); err != nil {
			return err
		}
		if o.ID != orderID || o.Serial == nil || o.Serial.Cmp(c.Serial) != 0 {
			return fmt.Errorf("ACME order %s must name certificate %s", orderID, c.Serial)
		}
		if err := putRecord(t, tOrders, orderID, o); err != nil {
			return err
		}
		t.put(db.key(tACMECerts, serialKey(c.Serial)), []byte(orderID))
		if _, err := w.write(t); err != nil {
			return err
		}
		rest = w.rest()
		return nil
	})
	if err != nil {
		return storage.ACMEOrder{}, err
	}
	return o, db.finishNames(c, rest)
}
