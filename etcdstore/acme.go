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
	"time"

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

// Statuses the store itself looks at: acmeDeactivated is the account
// status RFC 8555 7.3.6 makes final, and a valid order is one the sweep
// keeps (its certificate's).
const (
	acmeDeactivated = "deactivated"
	acmeValid       = "valid"
)

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
		} else {
			t.put(db.key(tUnbound, a.ID), nanosBytes(a.Created))
		}
		return putRecord(t, tAccounts, a.ID, a)
	})
	if errors.Is(err, storage.ErrExists) && existing.ID != "" {
		return existing, err
	}
	return a, err
}

// CountUnboundACMEAccounts counts the accounts without a binding in
// their index; etcd counts the keys (the core caps them).
func (db *DB) CountUnboundACMEAccounts() (int, error) {
	n := 0
	err := db.view(func(t *tx) error {
		p := db.key(tUnbound, "")
		var err error
		n, err = t.count(p, prefixEnd(p))
		return err
	})
	return n, err
}

// CountUnboundACMECertificates counts the certificates of accounts
// without a binding: one key each, which etcd counts, so that no
// issuance writes a counter another must wait for, plus what a
// migration brought.
func (db *DB) CountUnboundACMECertificates() (int, error) {
	n := 0
	err := db.view(func(t *tx) error {
		v, err := t.get(db.key(tMeta, kUnboundCerts))
		if err != nil {
			return err
		}
		p := db.key(tUnboundCerts, "")
		if n, err = t.count(p, prefixEnd(p)); err != nil {
			return err
		}
		if len(v) == 8 {
			n += int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return n, err
}

// ACMEAccounts lists the accounts of owner, or all for "", by id. It
// reads every account: an operator's command.
func (db *DB) ACMEAccounts(owner string) ([]storage.ACMEAccount, error) {
	var out []storage.ACMEAccount
	err := db.view(func(t *tx) error {
		p := db.key(tAccounts, "")
		return t.each(p, prefixEnd(p), func(k string, v []byte) error {
			var a storage.ACMEAccount
			if err := codec.Decode(v, &a); err != nil {
				return fmt.Errorf("ACME account %q: %w", k[len(p):], err)
			}
			if owner == "" || a.Owner == owner {
				out = append(out, a)
			}
			return nil
		})
	})
	return out, err
}

// unboundAccount reports whether account holds no binding: it is in the
// index of accounts without one, or it is no account (the sweep deleted
// it while a request of it was under way), which binds nothing either.
func (t *tx) unboundAccount(account string) (bool, error) {
	vs, err := t.getAll([]string{t.db.key(tUnbound, account), t.db.key(tAccounts, account)})
	if err != nil {
		return false, err
	}
	return vs[0] != nil || vs[1] == nil, nil
}

// keepUnbound moves the time an account without a binding is kept from
// on to at if that is later; nothing for any other account.
func (t *tx) keepUnbound(account string, at time.Time) error {
	k := t.db.key(tUnbound, account)
	v, err := t.get(k)
	if err != nil {
		return err
	}
	t.keepUntil(k, v, at)
	return nil
}

// keepUntil writes at into the index entry k of an account without a
// binding, read as v, if at is later.
func (t *tx) keepUntil(k string, v []byte, at time.Time) {
	if len(v) == 8 && binary.BigEndian.Uint64(v) < nanos(at) {
		t.put(k, nanosBytes(at))
	}
}

// nanosBytes is t in Unix nanoseconds, big-endian.
func nanosBytes(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, nanos(t)) }

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
		old, moved, err := storage.EditACMEAccount(id, &a, fn)
		if err != nil {
			return err
		}
		if moved {
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
// transaction (an order has at most ca.MaxNames of them), with the
// entries that count it for its account and that the sweep finds it by,
// and as many of their latest-authorization entries as fit; the others
// follow.
func (db *DB) CreateACMEOrder(o storage.ACMEOrder, authzs []storage.ACMEAuthz) error {
	written := 0
	rev, err := db.update(func(t *tx) error {
		keys := []string{db.key(tUnbound, o.Account), db.key(tOrders, o.ID)}
		for _, az := range authzs {
			keys = append(keys, db.key(tAuthzs, az.ID))
		}
		vals, err := t.getAll(keys)
		if err != nil {
			return err
		}
		for i, v := range vals[1:] {
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
		t.put(db.accountExpiryKey(&o), binary.BigEndian.AppendUint32(nil, uint32(len(o.Identifiers))))
		t.put(db.dueKey(dueOrder, o.Expires, o.ID), nil)
		if first, ok := earliest(authzs); ok {
			t.put(db.dueKey(dueAuthzs, first, o.ID), nil)
		}
		t.keepUntil(keys[0], vals[0], o.Expires)
		if err := putRecord(t, tOrders, o.ID, o); err != nil {
			return err
		}
		// The latest-authorization entries are written without a read:
		// this commit is the latest. Those that do not fit follow.
		written = min(len(authzs), maxOps-len(t.ops))
		for _, az := range authzs[:written] {
			t.put(db.latestAuthzKey(az.Account, az.Identifier), latestAuthz(o, az))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if written < len(authzs) {
		return db.latestAuthzs(o, authzs[written:], rev)
	}
	return nil
}

// accountExpiryKey is o's entry in its account's count.
func (db *DB) accountExpiryKey(o *storage.ACMEOrder) string {
	return db.key(tAccountExpiry, scoped(o.Account, string(nanosBytes(o.Expires))+o.ID))
}

// earliest is when the first of azs expires; false for none.
func earliest(azs []storage.ACMEAuthz) (time.Time, bool) {
	if len(azs) == 0 {
		return time.Time{}, false
	}
	first := azs[0].Expires
	for _, az := range azs[1:] {
		if az.Expires.Before(first) {
			first = az.Expires
		}
	}
	return first, true
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

// ACMEOrders lists a page of the ids of an account's orders, in the
// order of the index (by id).
func (db *DB) ACMEOrders(account, after string, limit int) ([]string, string, error) {
	var out []string
	next := ""
	err := db.view(func(t *tx) error {
		p := db.key(tAccountOrders, scoped(account, ""))
		from := p
		if after != "" {
			from = p + after + "\x00"
		}
		kvs, _, err := t.scan(from, prefixEnd(p), limit+1)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if len(out) == limit {
				next = out[len(out)-1]
				break
			}
			out = append(out, string(kv.Key[len(p):]))
		}
		return nil
	})
	return out, next, err
}

// CountACMEIdentifiers adds up the identifiers of the account's orders
// that expire after at, from the index by expiry: it reads only those,
// the first of them the one that expires first.
func (db *DB) CountACMEIdentifiers(account string, at time.Time) (int, time.Time, error) {
	n, first := 0, time.Time{}
	err := db.view(func(t *tx) error {
		p := db.key(tAccountExpiry, scoped(account, ""))
		from := p + string(nanosBytes(at.Add(time.Nanosecond)))
		return t.each(from, prefixEnd(p), func(k string, v []byte) error {
			if len(v) != 4 || len(k) < len(p)+8 {
				return fmt.Errorf("ACME order expiry entry %q: %d bytes, want 4", k, len(v))
			}
			if n == 0 {
				first = time.Unix(0, int64(binary.BigEndian.Uint64([]byte(k[len(p):])))).UTC()
			}
			n += int(binary.BigEndian.Uint32(v))
			return nil
		})
	})
	return n, first, err
}

// UpdateACMEOrder changes an order in one transaction; setting Serial
// also records which order the certificate came from, and a changed
// expiry moves the order's index entries.
func (db *DB) UpdateACMEOrder(id string, fn func(*storage.ACMEOrder) error) (storage.ACMEOrder, error) {
	var o storage.ACMEOrder
	_, err := db.update(func(t *tx) error {
		if err := getRecord(t, tOrders, "ACME order", id, &o); err != nil {
			return err
		}
		edit, err := storage.EditACMEOrder(id, &o, fn)
		if err != nil {
			return err
		}
		if edit.ExpiryMoved {
			if err := t.moveOrderExpiry(&edit.Before, &o); err != nil {
				return err
			}
		}
		if edit.SerialSet {
			t.put(db.key(tACMECerts, serialKey(o.Serial)), []byte(id))
		}
		return putRecord(t, tOrders, id, o)
	})
	return o, err
}

// moveOrderExpiry moves an order's index entries from its old expiry to
// its new one.
func (t *tx) moveOrderExpiry(old, o *storage.ACMEOrder) error {
	db := t.db
	t.del(db.dueKey(dueOrder, old.Expires, old.ID))
	t.put(db.dueKey(dueOrder, o.Expires, o.ID), nil)
	if err := t.keepUnbound(o.Account, o.Expires); err != nil {
		return err
	}
	v, err := t.get(db.accountExpiryKey(old))
	if err != nil || v == nil {
		return err
	}
	t.del(db.accountExpiryKey(old))
	t.put(db.accountExpiryKey(o), v)
	return nil
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
		if err := storage.EditACMEAuthz(id, &az, fn); err != nil {
			return err
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
// the rest of its name entries after); for an order of an account
// without a binding, with the key that counts the certificate.
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
			return w.again(t, &o, &rest)
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
		unbound, err := t.unboundAccount(o.Account)
		if err != nil {
			return err
		}
		if unbound {
			// Counted by a key of its own (CountUnboundACMECertificates);
			// the order goes once the certificate has expired, and the
			// account is kept at least as long.
			t.put(db.key(tUnboundCerts, serialKey(c.Serial)), nil)
			t.put(db.dueKey(dueCertificate, c.NotAfter, orderID), nil)
			if err := t.keepUnbound(o.Account, c.NotAfter); err != nil {
				return err
			}
		}
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
