package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// The sweep of expired ACME state walks acme_expiry, where each entry is
// what it may delete keyed by when that is due, one pass per kind, a
// batch per transaction; it reads the entries that are due and stops at
// the first that is not, so it costs what it deletes, not what is kept
// (valid orders stay for years). The last pass reads the accounts
// without a binding, which the core caps. A cursor is the pass's letter
// and the key read last.
const (
	dueOrder       = 'o' // an order, by its expiry
	dueCertificate = 'c' // a valid order of an account without a binding, by its certificate's not-after
	dueAuthz       = 'a' // an authorization, by its expiry
	idleAccounts   = 'u' // the pass over acme_unbound_accounts
)

// sweepPasses is the order of the passes: an order before its
// authorizations, so that it goes with them; accounts last, once their
// orders have gone.
var sweepPasses = []byte{dueOrder, dueCertificate, dueAuthz, idleAccounts}

// dueKey is an entry of acme_expiry.
func dueKey(kind byte, t time.Time, id string) []byte {
	k := make([]byte, 0, 1+8+len(id))
	k = binary.BigEndian.AppendUint64(append(k, kind), nanos(t))
	return append(k, id...)
}

// DeleteExpiredACME deletes one batch of expired ACME state
// (storage.ACMESweep), with the index entries that name what went.
func (db *DB) DeleteExpiredACME(q ACMESweep) (int, string, error) {
	if q.Max <= 0 {
		q.Max = MaxScan
	}
	deleted, next := 0, ""
	err := db.update(func(tx *bolt.Tx) error {
		deleted, next = 0, ""
		if q.After == "" {
			q.After = string(sweepPasses[:1])
		}
		pass, after := q.After[0], []byte(q.After[1:])
		var last []byte
		var err error
		switch pass {
		case dueOrder, dueCertificate, dueAuthz:
			deleted, last, err = sweepDue(tx, q, pass, after)
		case idleAccounts:
			deleted, last, err = sweepIdleAccounts(tx, q, after)
		default:
			err = fmt.Errorf("ACME sweep cursor %.40q is none of this store's", q.After)
		}
		if err != nil {
			return err
		}
		switch i := bytes.IndexByte(sweepPasses, pass); {
		case last != nil:
			next = string(pass) + string(last)
		case i+1 < len(sweepPasses):
			next = string(sweepPasses[i+1 : i+2])
		}
		return nil
	})
	return deleted, next, err
}

// sweepDue reads at most q.Max entries of one kind that are due before
// q.Before, after the key after, and deletes what they name. It returns
// the key read last while entries may be left, nil once the kind is done.
func sweepDue(tx *bolt.Tx, q ACMESweep, kind byte, after []byte) (int, []byte, error) {
	due := tx.Bucket(bucketACMEExpiry)
	end := dueKey(kind, q.Before, "")
	c := due.Cursor()
	k, _ := c.Seek([]byte{kind})
	if len(after) > 0 {
		if k, _ = c.Seek(after); bytes.Equal(k, after) {
			k, _ = c.Next()
		}
	}
	// The entries first: a bucket must not change under its cursor.
	var keys [][]byte
	for ; k != nil && bytes.Compare(k, end) < 0 && len(keys) < q.Max; k, _ = c.Next() {
		if len(k) < 9 || k[0] != kind {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	full := len(keys) == q.Max && k != nil && bytes.Compare(k, end) < 0 && k[0] == kind
	n := 0
	for _, k := range keys {
		id := string(k[9:])
		var d int
		var err error
		switch kind {
		case dueOrder:
			d, err = sweepOrder(tx, q, id)
		case dueCertificate:
			d, err = sweepCertificateOrder(tx, id)
		case dueAuthz:
			d, err = sweepAuthz(tx, id)
		}
		if err != nil {
			return 0, nil, err
		}
		n += d
		if err := due.Delete(k); err != nil {
			return 0, nil, err
		}
	}
	if !full {
		return n, nil, nil
	}
	return n, keys[len(keys)-1], nil
}

// sweepOrder handles an order whose expiry is due: a valid one stays
// (its certificate's entry, if any, takes it later) and leaves the
// account's count; another goes with its own authorizations if they are
// all due, else its entry moves to when the last of them is.
func sweepOrder(tx *bolt.Tx, q ACMESweep, id string) (int, error) {
	o, err := dueOrderRecord(tx, id)
	if o == nil || err != nil {
		return 0, err
	}
	if err := deleteAccountExpiry(tx, o); err != nil {
		return 0, err
	}
	if o.Status == acmeValid {
		return 0, nil
	}
	own, latest, err := ownAuthzs(tx, o)
	if err != nil {
		return 0, err
	}
	if !latest.Before(q.Before) {
		// Back once the last of them is due: an authorization never
		// outlives the order it was made for.
		return 0, tx.Bucket(bucketACMEExpiry).Put(dueKey(dueOrder, latest, o.ID), nil)
	}
	return deleteOrder(tx, o, own)
}

// dueOrderRecord reads the order an entry of acme_expiry names; nil if it
// is gone already.
func dueOrderRecord(tx *bolt.Tx, id string) (*ACMEOrder, error) {
	v := tx.Bucket(bucketACMEOrders).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var o ACMEOrder
	if err := codec.Decode(v, &o); err != nil {
		return nil, fmt.Errorf("ACME order %q: %w", id, err)
	}
	return &o, nil
}

// sweepCertificateOrder deletes a valid order of an account without a
// binding whose certificate has expired; the certificate stays.
func sweepCertificateOrder(tx *bolt.Tx, id string) (int, error) {
	o, err := dueOrderRecord(tx, id)
	if o == nil || err != nil {
		return 0, err
	}
	if o.Serial != nil {
		if err := tx.Bucket(bucketACMECerts).Delete(serialKey(o.Serial)); err != nil {
			return 0, err
		}
	}
	if err := deleteAccountExpiry(tx, o); err != nil {
		return 0, err
	}
	own, _, err := ownAuthzs(tx, o)
	if err != nil {
		return 0, err
	}
	return deleteOrder(tx, o, own)
}

// ownAuthzs reads the authorizations an order made (not those it reused)
// that are still stored, and when the last of them expires.
func ownAuthzs(tx *bolt.Tx, o *ACMEOrder) ([]ACMEAuthz, time.Time, error) {
	b := tx.Bucket(bucketACMEAuthzs)
	vals := make([][]byte, len(o.Authzs))
	for i, id := range o.Authzs {
		vals[i] = b.Get([]byte(id))
	}
	return codec.OwnAuthzs(o, vals)
}

// deleteOrder deletes an order, the authorizations given and the index
// entries that name them; it returns how many records went.
func deleteOrder(tx *bolt.Tx, o *ACMEOrder, authzs []ACMEAuthz) (int, error) {
	for i := range authzs {
		if err := deleteAuthz(tx, &authzs[i]); err != nil {
			return 0, err
		}
	}
	if err := tx.Bucket(bucketACMEOrders).Delete([]byte(o.ID)); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketACMEExpiry).Delete(dueKey(dueOrder, o.Expires, o.ID)); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketACMEAccountOrders).Delete(accountOrderKey(o.Account, o.ID)); err != nil {
		return 0, err
	}
	return 1 + len(authzs), nil
}

// deleteAccountExpiry takes an order out of its account's count.
func deleteAccountExpiry(tx *bolt.Tx, o *ACMEOrder) error {
	if b := tx.Bucket(bucketACMEAccountExpiry); b != nil {
		return b.Delete(accountExpiryKey(o))
	}
	return nil
}

func sweepAuthz(tx *bolt.Tx, id string) (int, error) {
	av := tx.Bucket(bucketACMEAuthzs).Get([]byte(id))
	if av == nil {
		return 0, nil
	}
	var az ACMEAuthz
	if err := codec.Decode(av, &az); err != nil {
		return 0, fmt.Errorf("ACME authorization %q: %w", id, err)
	}
	return 1, deleteAuthz(tx, &az)
}

// deleteAuthz deletes an authorization, its entry in acme_expiry and the
// account's latest entry for its identifier if it names it.
func deleteAuthz(tx *bolt.Tx, az *ACMEAuthz) error {
	if err := tx.Bucket(bucketACMEAuthzs).Delete([]byte(az.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketACMEExpiry).Delete(dueKey(dueAuthz, az.Expires, az.ID)); err != nil {
		return err
	}
	latest := tx.Bucket(bucketACMEAccountAuthzs)
	if latest == nil {
		return nil
	}
	k := accountAuthzKey(az.Account, az.Identifier)
	if bytes.Equal(latest.Get(k), []byte(az.ID)) {
		return latest.Delete(k)
	}
	return nil
}

// sweepIdleAccounts reads at most q.Max accounts without a binding after
// the id after and deletes those kept until before q.Idle that have no
// order left. It returns the id read last while some may be left.
func sweepIdleAccounts(tx *bolt.Tx, q ACMESweep, after []byte) (int, []byte, error) {
	if q.Idle.IsZero() {
		return 0, nil, nil
	}
	var idle [][]byte
	last, err := batch(tx.Bucket(bucketACMEUnbound), after, q.Max, func(k, v []byte) error {
		if len(v) == 8 && binary.BigEndian.Uint64(v) < nanos(q.Idle) && !hasOrders(tx, string(k)) {
			idle = append(idle, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	for _, id := range idle {
		if err := deleteAccount(tx, string(id)); err != nil {
			return 0, nil, err
		}
	}
	return len(idle), last, nil
}

// hasOrders reports whether any order of the account is stored.
func hasOrders(tx *bolt.Tx, account string) bool {
	prefix := accountOrderKey(account, "")
	k, _ := tx.Bucket(bucketACMEAccountOrders).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// deleteAccount deletes an account, its key's entry and what is left of
// its index entries.
func deleteAccount(tx *bolt.Tx, id string) error {
	var a ACMEAccount
	if err := getRecord(tx, bucketACMEAccounts, "ACME account", id, &a); err != nil {
		return err
	}
	keys := tx.Bucket(bucketACMEAccountKeys)
	if bytes.Equal(keys.Get([]byte(a.Thumbprint)), []byte(id)) {
		if err := keys.Delete([]byte(a.Thumbprint)); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketACMEAccountAuthzs, bucketACMEAccountExpiry} {
		if err := deletePrefix(tx.Bucket(name), accountOrderKey(id, "")); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketACMEUnbound).Delete([]byte(id)); err != nil {
		return err
	}
	return tx.Bucket(bucketACMEAccounts).Delete([]byte(id))
}

// deletePrefix deletes the keys of b (nil: none) that begin with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	if b == nil {
		return nil
	}
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// batch reads at most max records of b after the key after (from the
// first for nil), giving each to fn; it returns the key read last when
// the batch stopped with records left, nil at the end.
func batch(b *bolt.Bucket, after []byte, max int, fn func(k, v []byte) error) ([]byte, error) {
	c := b.Cursor()
	k, v := c.First()
	if len(after) > 0 {
		if k, v = c.Seek(after); bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	var last []byte
	for read := 0; k != nil; k, v = c.Next() {
		if read == max {
			return last, nil
		}
		read++
		if err := fn(k, v); err != nil {
			return nil, err
		}
		last = bytes.Clone(k)
	}
	return nil, nil
}
