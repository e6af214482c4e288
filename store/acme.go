package store

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// The ACME server's state (RFC 8555), in the same file as everything else:
//   - acme_accounts:     account id → ACMEAccount
//   - acme_account_keys: JWK thumbprint → account id (one account per key)
//   - acme_orders:       order id → ACMEOrder
//   - acme_account_orders: account id + 0 + order id → nothing
//   - acme_authzs:       authorization id → ACMEAuthz (with its challenges)
//   - acme_account_authzs: account id + 0 + type + 0 + value → the id of
//     the latest authorization of that identifier for the account, so that
//     a new order can reuse a valid one; made by the first order that
//     needs it, so a file from before it needs no migration
//   - acme_account_expiry: account id + 0 + the order's expiry (Unix
//     nanoseconds, big-endian) + order id → its identifier count, so that
//     an account's live orders are counted without reading the old ones;
//     made lazily as acme_account_authzs is (orders from before it expire
//     uncounted within a day)
//   - acme_certs:        serial → order id, for the certificates ACME issued
//   - acme_expiry:       what the sweep deletes, by when it is due (kind +
//     Unix nanoseconds, big-endian + id → nothing): 'o' every order by
//     its expiry, 'a' every authorization by its expiry, 'c' a valid order
//     of an account without a binding by its certificate's not-after
//     (acmesweep.go)
//   - acme_unbound_accounts: account id → Unix nanoseconds: the accounts
//     without a binding, each with the latest of its creation, its
//     orders' expiry and its certificates' not-after, which the sweep
//     deletes once that is long past
//   - acme_nonces:       empty: used nonces were kept here before nonces
//     became stateless (acme/nonce.go); an older binary still expects it
//   - acme_eab:          EAB key id → ACMEEAB (per-user HMAC keys)
//   - acme_meta:         the nonce MAC key; how many certificates orders of
//     accounts without a binding got
var (
	bucketACMEAccounts      = []byte("acme_accounts")
	bucketACMEAccountKeys   = []byte("acme_account_keys")
	bucketACMEOrders        = []byte("acme_orders")
	bucketACMEAccountOrders = []byte("acme_account_orders")
	bucketACMEAuthzs        = []byte("acme_authzs")
	bucketACMEAccountAuthzs = []byte("acme_account_authzs")
	bucketACMEAccountExpiry = []byte("acme_account_expiry")
	bucketACMECerts         = []byte("acme_certs")
	bucketACMENonces        = []byte("acme_nonces")
	bucketACMEEAB           = []byte("acme_eab")
	bucketACMEMeta          = []byte("acme_meta")
	bucketACMEExpiry        = []byte("acme_expiry")
	bucketACMEUnbound       = []byte("acme_unbound_accounts")

	acmeBuckets = [][]byte{bucketACMEAccounts, bucketACMEAccountKeys, bucketACMEOrders, bucketACMEAccountOrders,
		bucketACMEAuthzs, bucketACMECerts, bucketACMENonces, bucketACMEEAB, bucketACMEMeta, bucketACMEExpiry, bucketACMEUnbound}

	keyACMENonceKey    = []byte("nonce_key")
	keyUnboundACMECert = []byte("unbound_certificates")
)

// ACMENonceKey returns the key that authenticates ACME nonces, made on
// first use; the ACME server asks for it once at start. It also empties
// the used nonces an older certmaker recorded (up to an hour of traffic,
// which nothing deletes any more).
func (db *DB) ACMENonceKey() ([]byte, error) {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	var key []byte
	err := db.update(func(tx *bolt.Tx) error {
		if err := emptyBucket(tx, bucketACMENonces); err != nil {
			return fmt.Errorf("emptying used nonces: %w", err)
		}
		b := tx.Bucket(bucketACMEMeta)
		if v := b.Get(keyACMENonceKey); v != nil {
			k, err := db.keys.Open(seal.NonceKey, "", v)
			if err != nil {
				return err
			}
			if len(k) == 32 {
				key = k
				return nil
			}
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("making nonce key: %w", err)
		}
		sealed, err := db.keys.Seal(seal.NonceKey, "", key)
		if err != nil {
			return err
		}
		return b.Put(keyACMENonceKey, sealed)
	})
	return key, err
}

// emptyBucket replaces a bucket that holds anything with an empty one.
func emptyBucket(tx *bolt.Tx, name []byte) error {
	if k, _ := tx.Bucket(name).Cursor().First(); k == nil {
		return nil
	}
	if err := tx.DeleteBucket(name); err != nil {
		return err
	}
	_, err := tx.CreateBucket(name)
	return err
}

// CreateACMEEAB stores a new EAB key.
func (db *DB) CreateACMEEAB(k ACMEEAB) error {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	sealed, err := db.keys.Seal(seal.EABKey, k.ID, k.Key)
	if err != nil {
		return err
	}
	k.Key = sealed
	v, err := codec.Encode(k)
	if err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(k.Owner)) == nil {
			return fmt.Errorf("user %q: %w", k.Owner, ErrNotFound)
		}
		b := tx.Bucket(bucketACMEEAB)
		if b.Get([]byte(k.ID)) != nil {
			return fmt.Errorf("EAB key %s: %w", k.ID, ErrExists)
		}
		return b.Put([]byte(k.ID), v)
	})
}

// ACMEEABs lists the EAB keys of owner, or of every user for "", oldest
// first. Counting their accounts reads every account: an operator's
// command, over a few accounts per proxy.
func (db *DB) ACMEEABs(owner string) ([]ACMEEABInfo, error) {
	var out []ACMEEABInfo
	err := db.view(func(tx *bolt.Tx) error {
		if owner != "" && tx.Bucket(bucketUsers).Get([]byte(owner)) == nil {
			return fmt.Errorf("user %q: %w", owner, ErrNotFound)
		}
		index := map[string]int{}
		err := tx.Bucket(bucketACMEEAB).ForEach(func(_, v []byte) error {
			var k ACMEEAB
			if err := codec.Decode(v, &k); err != nil {
				return err
			}
			if owner == "" || k.Owner == owner {
				index[k.ID] = len(out)
				out = append(out, ACMEEABInfo{ID: k.ID, Owner: k.Owner, Created: k.Created})
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketACMEAccounts).ForEach(func(_, v []byte) error {
			var a ACMEAccount
			if err := codec.Decode(v, &a); err != nil {
				return err
			}
			if i, ok := index[a.EABKeyID]; ok && a.EABKeyID != "" {
				out[i].Accounts++
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b ACMEEABInfo) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// Statuses the store itself looks at: acmeDeactivated is the account
// status RFC 8555 7.3.6 makes final, and a valid order is one the sweep
// keeps (its certificate's).
const (
	acmeDeactivated = "deactivated"
	acmeValid       = "valid"
)

// RevokeACMEEAB deletes an EAB key and deactivates the accounts it bound,
// in one commit, and returns how many it deactivated: a key handed out by
// mistake or leaked may have bound accounts nobody meant to exist. An
// account being created with the key at the same time fails
// (CreateACMEAccount checks the key in its own commit).
func (db *DB) RevokeACMEEAB(id string) (int, error) {
	var n int
	err := db.update(func(tx *bolt.Tx) error {
		n = 0
		keys := tx.Bucket(bucketACMEEAB)
		if keys.Get([]byte(id)) == nil {
			return fmt.Errorf("EAB key %q: %w", id, ErrNotFound)
		}
		if err := keys.Delete([]byte(id)); err != nil {
			return err
		}
		accounts := tx.Bucket(bucketACMEAccounts)
		var bound []ACMEAccount
		err := accounts.ForEach(func(_, v []byte) error {
			var a ACMEAccount
			if err := codec.Decode(v, &a); err != nil {
				return err
			}
			if a.EABKeyID == id && a.Status != acmeDeactivated {
				bound = append(bound, a)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Written after the scan: a bucket must not change under ForEach.
		for _, a := range bound {
			a.Status = acmeDeactivated
			if err := putRecord(tx, bucketACMEAccounts, a.ID, a); err != nil {
				return err
			}
		}
		n = len(bound)
		return nil
	})
	return n, err
}

// ACMEEABKey reads an EAB key by its id.
func (db *DB) ACMEEABKey(id string) (ACMEEAB, error) {
	var k ACMEEAB
	err := db.view(func(tx *bolt.Tx) error {
		return getRecord(tx, bucketACMEEAB, "EAB key", id, &k)
	})
	if err == nil {
		k.Key, err = db.keys.Open(seal.EABKey, k.ID, k.Key)
	}
	return k, err
}

// getRecord decodes one JSON record of a bucket, ErrNotFound if absent.
func getRecord[T any](tx *bolt.Tx, bucket []byte, what, id string, rec *T) error {
	v := tx.Bucket(bucket).Get([]byte(id))
	if v == nil {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return codec.Decode(v, rec)
}

func putRecord[T any](tx *bolt.Tx, bucket []byte, id string, rec T) error {
	v, err := codec.Encode(rec)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(id), v)
}

// CreateACMEAccount stores a new account unless its key already has one:
// then it returns that account and ErrExists. An account bound by an EAB
// key is only stored while the key exists (ErrNotFound once revoked).
func (db *DB) CreateACMEAccount(a ACMEAccount) (ACMEAccount, error) {
	var existing ACMEAccount
	err := db.update(func(tx *bolt.Tx) error {
		if a.EABKeyID != "" && tx.Bucket(bucketACMEEAB).Get([]byte(a.EABKeyID)) == nil {
			return fmt.Errorf("EAB key %q: %w", a.EABKeyID, ErrNotFound)
		}
		keys := tx.Bucket(bucketACMEAccountKeys)
		if id := keys.Get([]byte(a.Thumbprint)); id != nil {
			if err := getRecord(tx, bucketACMEAccounts, "ACME account", string(id), &existing); err != nil {
				return err
			}
			return fmt.Errorf("ACME account for this key: %w", ErrExists)
		}
		if tx.Bucket(bucketACMEAccounts).Get([]byte(a.ID)) != nil {
			return fmt.Errorf("ACME account %s: %w", a.ID, ErrExists)
		}
		if err := keys.Put([]byte(a.Thumbprint), []byte(a.ID)); err != nil {
			return err
		}
		if a.EABKeyID == "" {
			if err := tx.Bucket(bucketACMEUnbound).Put([]byte(a.ID), nanosBytes(a.Created)); err != nil {
				return err
			}
		}
		return putRecord(tx, bucketACMEAccounts, a.ID, a)
	})
	if errors.Is(err, ErrExists) && existing.ID != "" {
		return existing, err
	}
	return a, err
}

// CountUnboundACMEAccounts counts the accounts without a binding from
// their index: it reads those alone (capped by the core).
func (db *DB) CountUnboundACMEAccounts() (int, error) {
	n := 0
	err := db.view(func(tx *bolt.Tx) error {
		n = 0
		c := tx.Bucket(bucketACMEUnbound).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// CountUnboundACMECertificates reads the counter PutACMECertificate keeps.
func (db *DB) CountUnboundACMECertificates() (int, error) {
	n := 0
	err := db.view(func(tx *bolt.Tx) error {
		n = int(getUint(tx.Bucket(bucketACMEMeta), keyUnboundACMECert))
		return nil
	})
	return n, err
}

// ACMEAccounts lists the accounts of owner, or all for "", by id. It
// reads every account: an operator's command.
func (db *DB) ACMEAccounts(owner string) ([]ACMEAccount, error) {
	var out []ACMEAccount
	err := db.view(func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketACMEAccounts).ForEach(func(k, v []byte) error {
			var a ACMEAccount
			if err := codec.Decode(v, &a); err != nil {
				return fmt.Errorf("ACME account %q: %w", k, err)
			}
			if owner == "" || a.Owner == owner {
				out = append(out, a)
			}
			return nil
		})
	})
	return out, err
}

// unboundAccount reports whether account holds no binding: it is one of
// the accounts without a binding, or no account (deleted by the sweep
// while a request of it was under way), which binds nothing either.
func unboundAccount(tx *bolt.Tx, account string) bool {
	return tx.Bucket(bucketACMEUnbound).Get([]byte(account)) != nil || tx.Bucket(bucketACMEAccounts).Get([]byte(account)) == nil
}

// keepUnbound moves the time an account without a binding is kept from
// on to t if that is later; nothing for any other account.
func keepUnbound(tx *bolt.Tx, account string, t time.Time) error {
	b := tx.Bucket(bucketACMEUnbound)
	v := b.Get([]byte(account))
	if len(v) != 8 || binary.BigEndian.Uint64(v) >= nanos(t) {
		return nil
	}
	return b.Put([]byte(account), nanosBytes(t))
}

// nanosBytes is t in Unix nanoseconds, big-endian.
func nanosBytes(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, nanos(t)) }

// ACMEAccount reads an account by id.
func (db *DB) ACMEAccount(id string) (ACMEAccount, error) {
	var a ACMEAccount
	err := db.view(func(tx *bolt.Tx) error {
		return getRecord(tx, bucketACMEAccounts, "ACME account", id, &a)
	})
	return a, err
}

// ACMEAccountByKey finds the account of a key by its JWK thumbprint.
func (db *DB) ACMEAccountByKey(thumbprint string) (ACMEAccount, error) {
	var a ACMEAccount
	err := db.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketACMEAccountKeys).Get([]byte(thumbprint))
		if id == nil {
			return fmt.Errorf("ACME account for key: %w", ErrNotFound)
		}
		return getRecord(tx, bucketACMEAccounts, "ACME account", string(id), &a)
	})
	return a, err
}

// UpdateACMEAccount changes an account in one transaction. A changed
// Thumbprint (key rollover) moves the key index in the same commit;
// ErrExists, and nothing written, if another account holds the new key.
func (db *DB) UpdateACMEAccount(id string, fn func(*ACMEAccount) error) (ACMEAccount, error) {
	var a ACMEAccount
	err := db.update(func(tx *bolt.Tx) error {
		a = ACMEAccount{}
		if err := getRecord(tx, bucketACMEAccounts, "ACME account", id, &a); err != nil {
			return err
		}
		old, moved, err := storage.EditACMEAccount(id, &a, fn)
		if err != nil {
			return err
		}
		if moved {
			keys := tx.Bucket(bucketACMEAccountKeys)
			if keys.Get([]byte(a.Thumbprint)) != nil {
				return fmt.Errorf("ACME account for the new key: %w", ErrExists)
			}
			if err := keys.Delete([]byte(old)); err != nil {
				return err
			}
			if err := keys.Put([]byte(a.Thumbprint), []byte(id)); err != nil {
				return err
			}
		}
		return putRecord(tx, bucketACMEAccounts, id, a)
	})
	return a, err
}

func accountOrderKey(account, order string) []byte {
	k := make([]byte, 0, len(account)+1+len(order))
	k = append(k, account...)
	k = append(k, 0)
	return append(k, order...)
}

// CreateACMEOrder stores a new order with its authorizations in one commit,
// shared with concurrent writers (group.go): the answer names the order,
// so it must be on disk first, but it need not have a commit of its own.
func (db *DB) CreateACMEOrder(o ACMEOrder, authzs []ACMEAuthz) error {
	ov, err := codec.Encode(o)
	if err != nil {
		return err
	}
	avs := make([][]byte, len(authzs))
	for i, az := range authzs {
		if avs[i], err = codec.Encode(az); err != nil {
			return err
		}
	}
	return db.group(func(tx *bolt.Tx) error {
		orders, azs := tx.Bucket(bucketACMEOrders), tx.Bucket(bucketACMEAuthzs)
		// Every check before the first write, so that a refusal costs the
		// transaction it shares nothing.
		if orders.Get([]byte(o.ID)) != nil {
			return refuse(fmt.Errorf("ACME order %s: %w", o.ID, ErrExists))
		}
		for _, az := range authzs {
			if azs.Get([]byte(az.ID)) != nil {
				return refuse(fmt.Errorf("ACME authorization %s: %w", az.ID, ErrExists))
			}
		}
		latest, err := tx.CreateBucketIfNotExists(bucketACMEAccountAuthzs)
		if err != nil {
			return err
		}
		expiry, err := tx.CreateBucketIfNotExists(bucketACMEAccountExpiry)
		if err != nil {
			return err
		}
		if err := expiry.Put(accountExpiryKey(&o), binary.BigEndian.AppendUint32(nil, uint32(len(o.Identifiers)))); err != nil {
			return err
		}
		due := tx.Bucket(bucketACMEExpiry)
		if err := due.Put(dueKey(dueOrder, o.Expires, o.ID), nil); err != nil {
			return err
		}
		if err := keepUnbound(tx, o.Account, o.Expires); err != nil {
			return err
		}
		for i, az := range authzs {
			if err := azs.Put([]byte(az.ID), avs[i]); err != nil {
				return err
			}
			if err := latest.Put(accountAuthzKey(az.Account, az.Identifier), []byte(az.ID)); err != nil {
				return err
			}
			if err := due.Put(dueKey(dueAuthz, az.Expires, az.ID), nil); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketACMEAccountOrders).Put(accountOrderKey(o.Account, o.ID), nil); err != nil {
			return err
		}
		return orders.Put([]byte(o.ID), ov)
	})
}

// ACMEOrder reads an order by id.
func (db *DB) ACMEOrder(id string) (ACMEOrder, error) {
	var o ACMEOrder
	err := db.view(func(tx *bolt.Tx) error {
		return getRecord(tx, bucketACMEOrders, "ACME order", id, &o)
	})
	return o, err
}

// ACMEOrders lists a page of the ids of an account's orders, in the order
// of the index (by id).
func (db *DB) ACMEOrders(account, after string, limit int) ([]string, string, error) {
	var out []string
	next := ""
	err := db.view(func(tx *bolt.Tx) error {
		out, next = nil, ""
		prefix := accountOrderKey(account, "")
		cur := tx.Bucket(bucketACMEAccountOrders).Cursor()
		k, _ := cur.Seek(accountOrderKey(account, after))
		if after != "" && k != nil && string(k[len(prefix):]) == after {
			k, _ = cur.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if len(out) == limit {
				next = out[len(out)-1]
				break
			}
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	return out, next, err
}

// accountExpiryKey is o's entry in acme_account_expiry.
func accountExpiryKey(o *ACMEOrder) []byte {
	k := accountExpiryPrefix(o.Account, o.Expires)
	return append(k, o.ID...)
}

// accountExpiryPrefix is where the account's orders that expire at t
// begin in acme_account_expiry.
func accountExpiryPrefix(account string, t time.Time) []byte {
	k := make([]byte, 0, len(account)+1+8+24)
	k = append(append(k, account...), 0)
	return binary.BigEndian.AppendUint64(k, uint64(max(t.UnixNano(), 0)))
}

// CountACMEIdentifiers adds up the identifiers of the account's orders
// that expire after t, from the expiry index: it reads only those, the
// first of them the one that expires first.
func (db *DB) CountACMEIdentifiers(account string, t time.Time) (int, time.Time, error) {
	n, first := 0, time.Time{}
	err := db.view(func(tx *bolt.Tx) error {
		n, first = 0, time.Time{}
		b := tx.Bucket(bucketACMEAccountExpiry)
		if b == nil {
			return nil
		}
		prefix := accountOrderKey(account, "")
		cur := b.Cursor()
		for k, v := cur.Seek(accountExpiryPrefix(account, t.Add(time.Nanosecond))); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			if len(v) != 4 || len(k) < len(prefix)+8 {
				return fmt.Errorf("ACME order expiry entry %q: %d bytes, want 4", k, len(v))
			}
			if n == 0 {
				first = time.Unix(0, int64(binary.BigEndian.Uint64(k[len(prefix):]))).UTC()
			}
			n += int(binary.BigEndian.Uint32(v))
		}
		return nil
	})
	return n, first, err
}

// UpdateACMEOrder changes an order in one transaction. Setting Serial
// also records which order a certificate came from, in the same commit; a
// changed expiry moves its index entries.
func (db *DB) UpdateACMEOrder(id string, fn func(*ACMEOrder) error) (ACMEOrder, error) {
	var o ACMEOrder
	err := db.update(func(tx *bolt.Tx) error {
		o = ACMEOrder{}
		if err := getRecord(tx, bucketACMEOrders, "ACME order", id, &o); err != nil {
			return err
		}
		edit, err := storage.EditACMEOrder(id, &o, fn)
		if err != nil {
			return err
		}
		if edit.ExpiryMoved {
			if err := moveOrderExpiry(tx, &edit.Before, &o); err != nil {
				return err
			}
		}
		if edit.SerialSet {
			if err := tx.Bucket(bucketACMECerts).Put(serialKey(o.Serial), []byte(id)); err != nil {
				return err
			}
		}
		return putRecord(tx, bucketACMEOrders, id, o)
	})
	return o, err
}

// ACMEOrderBySerial finds the order that issued a certificate;
// ErrNotFound for certificates ACME did not issue.
func (db *DB) ACMEOrderBySerial(serial *big.Int) (ACMEOrder, error) {
	var o ACMEOrder
	err := db.view(func(tx *bolt.Tx) error {
		if serial == nil || serial.Sign() <= 0 {
			return fmt.Errorf("ACME certificate %v: %w", serial, ErrNotFound)
		}
		id := tx.Bucket(bucketACMECerts).Get(serialKey(serial))
		if id == nil {
			return fmt.Errorf("ACME certificate %s: %w", serial, ErrNotFound)
		}
		return getRecord(tx, bucketACMEOrders, "ACME order", string(id), &o)
	})
	return o, err
}

// ACMEAuthz reads an authorization by id.
func (db *DB) ACMEAuthz(id string) (ACMEAuthz, error) {
	var az ACMEAuthz
	err := db.view(func(tx *bolt.Tx) error {
		return getRecord(tx, bucketACMEAuthzs, "ACME authorization", id, &az)
	})
	return az, err
}

func accountAuthzKey(account string, id ACMEIdentifier) []byte {
	k := make([]byte, 0, len(account)+len(id.Type)+len(id.Value)+2)
	k = append(append(k, account...), 0)
	k = append(append(k, id.Type...), 0)
	return append(k, id.Value...)
}

// ACMEAuthzFor reads the latest authorization CreateACMEOrder stored for
// an account and identifier.
func (db *DB) ACMEAuthzFor(account string, id ACMEIdentifier) (ACMEAuthz, error) {
	var az ACMEAuthz
	err := db.view(func(tx *bolt.Tx) error {
		var azID []byte
		if b := tx.Bucket(bucketACMEAccountAuthzs); b != nil {
			azID = b.Get(accountAuthzKey(account, id))
		}
		if azID == nil {
			return fmt.Errorf("ACME authorization of %s:%s: %w", id.Type, id.Value, ErrNotFound)
		}
		return getRecord(tx, bucketACMEAuthzs, "ACME authorization", string(azID), &az)
	})
	return az, err
}

// UpdateACMEAuthz changes an authorization and, in the same commit, its
// order: order (if not nil) gets the order and all of its authorizations as
// they stand after fn, and may change the order. One commit instead of two
// is what makes a validated challenge and the order it makes ready one
// durable step. The commit is shared with concurrent writers (group.go), so
// fn and order may run more than once; an error from either writes nothing.
func (db *DB) UpdateACMEAuthz(id string, fn func(*ACMEAuthz) error, order func(*ACMEOrder, []ACMEAuthz) error) (ACMEAuthz, ACMEOrder, error) {
	var az ACMEAuthz
	var o ACMEOrder
	err := db.group(func(tx *bolt.Tx) error {
		az, o = ACMEAuthz{}, ACMEOrder{}
		if err := getRecord(tx, bucketACMEAuthzs, "ACME authorization", id, &az); err != nil {
			return refuse(err)
		}
		if err := storage.EditACMEAuthz(id, &az, fn); err != nil {
			return refuse(err)
		}
		av, err := codec.Encode(az)
		if err != nil {
			return refuse(err)
		}
		var ov []byte
		if order != nil {
			if err := getRecord(tx, bucketACMEOrders, "ACME order", az.Order, &o); err != nil {
				return refuse(err)
			}
			all := make([]ACMEAuthz, len(o.Authzs))
			for i, other := range o.Authzs {
				if other == id {
					all[i] = az
					continue
				}
				if err := getRecord(tx, bucketACMEAuthzs, "ACME authorization", other, &all[i]); err != nil {
					return refuse(err)
				}
			}
			orderID, serial := o.ID, o.Serial
			if err := order(&o, all); err != nil {
				return refuse(err)
			}
			if o.ID != orderID || o.Serial != serial {
				return refuse(fmt.Errorf("ACME order %s: an authorization may change only its status", orderID))
			}
			if ov, err = codec.Encode(o); err != nil {
				return refuse(err)
			}
		}
		if err := tx.Bucket(bucketACMEAuthzs).Put([]byte(id), av); err != nil {
			return err
		}
		if ov != nil {
			return tx.Bucket(bucketACMEOrders).Put([]byte(o.ID), ov)
		}
		return nil
	})
	return az, o, err
}

// PutACMECertificate stores the certificate of an order and the order as
// fn leaves it (valid, with c's serial), in one commit shared with
// concurrent writers: there is no state in between that a crash could
// leave behind, such as an order processing for good or a certificate its
// order does not name. fn refuses (and nothing is stored) when the order
// may not take the certificate; it may run more than once.
func (db *DB) PutACMECertificate(orderID string, c *Certificate, fn func(*ACMEOrder) error) (ACMEOrder, error) {
	// Sealed like every stored certificate's key (PutCertificate); an
	// ACME certificate has none today, but the rule is one rule.
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	sc, err := db.sealedCertificate(c)
	if err != nil {
		return ACMEOrder{}, err
	}
	cv, err := codec.Encode(sc)
	if err != nil {
		return ACMEOrder{}, err
	}
	var o ACMEOrder
	err = db.group(func(tx *bolt.Tx) error {
		o = ACMEOrder{}
		if err := getRecord(tx, bucketACMEOrders, "ACME order", orderID, &o); err != nil {
			return refuse(err)
		}
		if o.Serial != nil {
			return refuse(fmt.Errorf("ACME order %s has a certificate: %w", orderID, ErrExists))
		}
		if err := fn(&o); err != nil {
			return refuse(err)
		}
		if o.ID != orderID || o.Serial == nil || o.Serial.Cmp(c.Serial) != 0 {
			return refuse(fmt.Errorf("ACME order %s must name certificate %s", orderID, c.Serial))
		}
		ov, err := codec.Encode(o)
		if err != nil {
			return refuse(err)
		}
		if err := putCertificate(tx, c, cv); err != nil {
			return err
		}
		if err := tx.Bucket(bucketACMECerts).Put(serialKey(c.Serial), []byte(orderID)); err != nil {
			return err
		}
		if unboundAccount(tx, o.Account) {
			if err := keepUnboundCertificate(tx, &o, c.NotAfter); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketACMEOrders).Put([]byte(orderID), ov)
	})
	return o, err
}

// keepUnboundCertificate counts a certificate of an order o of an account
// without a binding, and keeps the order until notAfter (keepUnboundUntil).
func keepUnboundCertificate(tx *bolt.Tx, o *ACMEOrder, notAfter time.Time) error {
	if _, err := bumpUint(tx.Bucket(bucketACMEMeta), keyUnboundACMECert); err != nil {
		return err
	}
	return keepUnboundUntil(tx, o, notAfter)
}

// keepUnboundUntil keeps a valid order o of an account without a binding
// until notAfter, its certificate's, when the sweep takes it, and the
// account at least as long.
func keepUnboundUntil(tx *bolt.Tx, o *ACMEOrder, notAfter time.Time) error {
	if err := tx.Bucket(bucketACMEExpiry).Put(dueKey(dueCertificate, notAfter, o.ID), nil); err != nil {
		return err
	}
	return keepUnbound(tx, o.Account, notAfter)
}

// moveOrderExpiry moves an order's index entries from its old expiry to
// its new one.
func moveOrderExpiry(tx *bolt.Tx, old, o *ACMEOrder) error {
	due := tx.Bucket(bucketACMEExpiry)
	if err := due.Delete(dueKey(dueOrder, old.Expires, old.ID)); err != nil {
		return err
	}
	if err := due.Put(dueKey(dueOrder, o.Expires, o.ID), nil); err != nil {
		return err
	}
	if err := keepUnbound(tx, o.Account, o.Expires); err != nil {
		return err
	}
	b := tx.Bucket(bucketACMEAccountExpiry)
	if b == nil {
		return nil
	}
	v := b.Get(accountExpiryKey(old))
	if v == nil {
		return nil
	}
	v = bytes.Clone(v)
	if err := b.Delete(accountExpiryKey(old)); err != nil {
		return err
	}
	return b.Put(accountExpiryKey(o), v)
}
