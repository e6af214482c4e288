package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// The sweep of expired ACME state reads the orders, then the
// authorizations, a batch per transaction: a cursor of "o" or "a" and the
// id read last says where the next batch starts.
const (
	sweepOrders = "o"
	sweepAuthzs = "a"
)

// DeleteExpiredACME deletes one batch of expired ACME state
// (storage.ACMESweep): a non-valid order due with all of its own
// authorizations, with its index entry; an authorization due; and the
// account's latest-authorization entries that name what went.
func (db *DB) DeleteExpiredACME(q ACMESweep) (int, string, error) {
	if q.Max <= 0 {
		q.Max = MaxScan
	}
	deleted, next := 0, ""
	err := db.update(func(tx *bolt.Tx) error {
		var err error
		switch kind, after := cutCursor(q.After); kind {
		case sweepOrders:
			deleted, next, err = sweepOrdersBatch(tx, q, after)
		case sweepAuthzs:
			deleted, next, err = sweepAuthzsBatch(tx, q, after)
		default:
			err = fmt.Errorf("ACME sweep cursor %.40q is none of this store's", q.After)
		}
		return err
	})
	return deleted, next, err
}

// cutCursor splits a sweep cursor into its pass and the id read last; ""
// is the start of the orders.
func cutCursor(c string) (kind string, after []byte) {
	if c == "" {
		return sweepOrders, nil
	}
	return c[:1], []byte(c[1:])
}

// batch reads at most max records of b after the key after (from the
// first for nil), giving each to fn; it returns the key read last when
// the batch stopped with records left, nil at the end.
func batch(b *bolt.Bucket, after []byte, max int, fn func(k, v []byte) error) ([]byte, error) {
	c := b.Cursor()
	k, v := c.First()
	if after != nil {
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

func sweepOrdersBatch(tx *bolt.Tx, q ACMESweep, after []byte) (int, string, error) {
	orders, azs := tx.Bucket(bucketACMEOrders), tx.Bucket(bucketACMEAuthzs)
	type doomed struct {
		o      ACMEOrder
		authzs []ACMEAuthz
	}
	var gone []doomed
	var expired [][]byte // expiry index entries of valid orders
	last, err := batch(orders, after, q.Max, func(k, v []byte) error {
		var o ACMEOrder
		if err := codec.Decode(v, &o); err != nil {
			return fmt.Errorf("ACME order %q: %w", k, err)
		}
		if !o.Expires.Before(q.Before) {
			return nil
		}
		if o.Status == acmeValid {
			// It stays with its certificate; nothing counts it any more.
			expired = append(expired, accountExpiryKey(&o))
			return nil
		}
		d := doomed{o: o}
		for _, id := range o.Authzs {
			var az ACMEAuthz
			if av := azs.Get([]byte(id)); av == nil {
				continue
			} else if err := codec.Decode(av, &az); err != nil {
				return fmt.Errorf("ACME authorization %q: %w", id, err)
			}
			if az.Order != o.ID {
				continue // reused from another order: that one's
			}
			if !az.Expires.Before(q.Before) {
				return nil // a later batch, once it is due too
			}
			d.authzs = append(d.authzs, az)
		}
		gone = append(gone, d)
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	// Deleted after the scan: a bucket must not change under its cursor.
	expiry := tx.Bucket(bucketACMEAccountExpiry)
	if expiry != nil {
		for _, k := range expired {
			if err := expiry.Delete(k); err != nil {
				return 0, "", err
			}
		}
	}
	n := 0
	for _, d := range gone {
		if expiry != nil {
			if err := expiry.Delete(accountExpiryKey(&d.o)); err != nil {
				return 0, "", err
			}
		}
		for i := range d.authzs {
			if err := deleteAuthz(tx, &d.authzs[i]); err != nil {
				return 0, "", err
			}
		}
		if err := orders.Delete([]byte(d.o.ID)); err != nil {
			return 0, "", err
		}
		if err := tx.Bucket(bucketACMEAccountOrders).Delete(accountOrderKey(d.o.Account, d.o.ID)); err != nil {
			return 0, "", err
		}
		n += 1 + len(d.authzs)
	}
	if last == nil {
		return n, sweepAuthzs, nil // the orders are done: the authorizations next
	}
	return n, sweepOrders + string(last), nil
}

func sweepAuthzsBatch(tx *bolt.Tx, q ACMESweep, after []byte) (int, string, error) {
	var gone []ACMEAuthz
	last, err := batch(tx.Bucket(bucketACMEAuthzs), after, q.Max, func(k, v []byte) error {
		var az ACMEAuthz
		if err := codec.Decode(v, &az); err != nil {
			return fmt.Errorf("ACME authorization %q: %w", k, err)
		}
		if az.Expires.Before(q.Before) {
			gone = append(gone, az)
		}
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	for i := range gone {
		if err := deleteAuthz(tx, &gone[i]); err != nil {
			return 0, "", err
		}
	}
	if last == nil {
		return len(gone), "", nil
	}
	return len(gone), sweepAuthzs + string(last), nil
}

// deleteAuthz deletes an authorization and the account's latest entry for
// its identifier if it names it.
func deleteAuthz(tx *bolt.Tx, az *ACMEAuthz) error {
	if err := tx.Bucket(bucketACMEAuthzs).Delete([]byte(az.ID)); err != nil {
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
