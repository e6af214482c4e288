package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// reindexACME rebuilds what the ACME sweep reads (acme_expiry,
// acme_unbound_accounts) and the count of certificates of accounts
// without a binding from the records: the migration to schema 7, the
// first to have them, runs it.
func reindexACME(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketACMEExpiry, bucketACMEUnbound} {
		if err := tx.DeleteBucket(name); err != nil && tx.Bucket(name) != nil {
			return err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketACMEMeta).Delete(keyUnboundACMECert); err != nil {
		return err
	}
	err := tx.Bucket(bucketACMEAccounts).ForEach(func(k, v []byte) error {
		var a ACMEAccount
		if err := codec.Decode(v, &a); err != nil {
			return fmt.Errorf("ACME account %q: %w", k, err)
		}
		if a.EABKeyID != "" {
			return nil
		}
		return tx.Bucket(bucketACMEUnbound).Put(k, nanosBytes(a.Created))
	})
	if err != nil {
		return err
	}
	due := tx.Bucket(bucketACMEExpiry)
	err = tx.Bucket(bucketACMEAuthzs).ForEach(func(k, v []byte) error {
		var az ACMEAuthz
		if err := codec.Decode(v, &az); err != nil {
			return fmt.Errorf("ACME authorization %q: %w", k, err)
		}
		return due.Put(dueKey(dueAuthz, az.Expires, az.ID), nil)
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketACMEOrders).ForEach(func(k, v []byte) error {
		var o ACMEOrder
		if err := codec.Decode(v, &o); err != nil {
			return fmt.Errorf("ACME order %q: %w", k, err)
		}
		unbound, err := indexOrder(tx, &o)
		if err != nil || !unbound {
			return err
		}
		_, err = bumpUint(tx.Bucket(bucketACMEMeta), keyUnboundACMECert)
		return err
	})
}

// indexOrder writes what the sweep reads of an order: its entry by
// expiry, and for a valid order of an account without a binding its
// certificate's (unbound, then), the account kept as long as either. A
// valid order whose certificate is not stored is an error that wraps
// ErrNotFound, its first entry written.
func indexOrder(tx *bolt.Tx, o *ACMEOrder) (unbound bool, err error) {
	if err := tx.Bucket(bucketACMEExpiry).Put(dueKey(dueOrder, o.Expires, o.ID), nil); err != nil {
		return false, err
	}
	if err := keepUnbound(tx, o.Account, o.Expires); err != nil {
		return false, err
	}
	if o.Status != acmeValid || o.Serial == nil || !unboundAccount(tx, o.Account) {
		return false, nil
	}
	var c Certificate
	if err := getCertificate(tx, o.Serial, &c); err != nil {
		return false, fmt.Errorf("the certificate of ACME order %q: %w", o.ID, err)
	}
	return true, keepUnboundUntil(tx, o, c.NotAfter)
}
