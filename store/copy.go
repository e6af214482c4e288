package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// Export calls fn on every record of the file, from one read transaction,
// secrets opened: what `certmaker migrate` copies into another backend.
func (db *DB) Export(fn func(storage.Item) error) error {
	return db.view(func(tx *bolt.Tx) error {
		each := func(bucket []byte, f func(k, v []byte) error) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			return b.ForEach(f)
		}
		if err := each(bucketUsers, func(_, v []byte) error {
			var u User
			if err := codec.Decode(v, &u); err != nil {
				return err
			}
			return fn(storage.Item{User: &u})
		}); err != nil {
			return err
		}
		active := string(tx.Bucket(bucketMeta).Get(keyActiveRoot))
		if err := each(bucketRoots, func(_, v []byte) error {
			var r Root
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			if err := seal.Root(db.keys.Open, &r); err != nil {
				return err
			}
			return fn(storage.Item{Root: &r, Active: r.Fingerprint == active})
		}); err != nil {
			return err
		}
		if err := each(bucketCerts, func(k, v []byte) error {
			c := Certificate{}
			if err := codec.Decode(v, &c); err != nil {
				return err
			}
			c.Serial = new(big.Int).SetBytes(k)
			if err := seal.Certificate(db.keys.Open, &c); err != nil {
				return err
			}
			return fn(storage.Item{Certificate: &c})
		}); err != nil {
			return err
		}
		if err := each(bucketChallenges, func(_, v []byte) error {
			var ch Challenge
			if err := codec.Decode(v, &ch); err != nil {
				return err
			}
			return fn(storage.Item{Challenge: &ch})
		}); err != nil {
			return err
		}
		if err := each(bucketACMEAccounts, func(_, v []byte) error {
			var a ACMEAccount
			if err := codec.Decode(v, &a); err != nil {
				return err
			}
			return fn(storage.Item{ACMEAccount: &a})
		}); err != nil {
			return err
		}
		if err := each(bucketACMEOrders, func(_, v []byte) error {
			var o ACMEOrder
			if err := codec.Decode(v, &o); err != nil {
				return err
			}
			var azs []ACMEAuthz
			for _, id := range o.Authzs {
				var az ACMEAuthz
				if err := getRecord(tx, bucketACMEAuthzs, "ACME authorization", id, &az); err == nil {
					azs = append(azs, az)
				}
			}
			return fn(storage.Item{ACMEOrder: &o, ACMEAuthzs: azs})
		}); err != nil {
			return err
		}
		if err := each(bucketACMEEAB, func(_, v []byte) error {
			var k ACMEEAB
			if err := codec.Decode(v, &k); err != nil {
				return err
			}
			if err := seal.EAB(db.keys.Open, &k); err != nil {
				return err
			}
			return fn(storage.Item{ACMEEAB: &k})
		}); err != nil {
			return err
		}
		if v := tx.Bucket(bucketACMEMeta).Get(keyACMENonceKey); v != nil {
			key, err := db.keys.Open(seal.NonceKey, "", v)
			if err != nil {
				return err
			}
			if err := fn(storage.Item{ACMENonceKey: key}); err != nil {
				return err
			}
		}
		if n := int(getUint(tx.Bucket(bucketACMEMeta), keyUnboundACMECert)); n > 0 {
			if err := fn(storage.Item{UnboundACMECertificates: &n}); err != nil {
				return err
			}
		}
		if err := each(bucketAnnounced, func(k, v []byte) error {
			a, err := codec.DecodeAnnouncement(append([]byte(nil), k...), v)
			if err != nil {
				return err
			}
			return fn(storage.Item{Announcement: &a})
		}); err != nil {
			return err
		}
		return each(bucketMeta, func(k, v []byte) error {
			root, ok := strings.CutPrefix(string(k), string(crlNumberKey("")))
			if !ok || len(v) != 8 {
				return nil
			}
			return fn(storage.Item{CRLNumber: &storage.CRLNumber{Root: root, Number: binary.BigEndian.Uint64(v)}})
		})
	})
}

// Import stores records into the file, all in one transaction, with every
// index and counter they imply; a record already there is left as it is.
func (db *DB) Import(items []storage.Item) error {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	return db.update(func(tx *bolt.Tx) error {
		for _, it := range items {
			if err := db.importItem(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) importItem(tx *bolt.Tx, it storage.Item) error {
	it, err := seal.Item(db.keys.Seal, it)
	if err != nil {
		return err
	}
	switch {
	case it.User != nil:
		if tx.Bucket(bucketUsers).Get([]byte(it.User.Name)) != nil {
			return nil
		}
		if err := putRecord(tx, bucketUsers, it.User.Name, *it.User); err != nil {
			return err
		}
		return tx.Bucket(bucketTokens).Put(it.User.TokenHash, []byte(it.User.Name))
	case it.Root != nil:
		if err := putRecord(tx, bucketRoots, it.Root.Fingerprint, *it.Root); err != nil {
			return err
		}
		if it.Active {
			return tx.Bucket(bucketMeta).Put(keyActiveRoot, []byte(it.Root.Fingerprint))
		}
	case it.Certificate != nil:
		c := it.Certificate
		if tx.Bucket(bucketCerts).Get(serialKey(c.Serial)) != nil {
			return nil
		}
		sc, err := db.sealedCertificate(c)
		if err != nil {
			return err
		}
		return putCertificate(tx, c, codec.EncodeCertificate(sc))
	case it.Challenge != nil:
		return putRecord(tx, bucketChallenges, it.Challenge.ID, *it.Challenge)
	case it.ACMEAccount != nil:
		a := it.ACMEAccount
		if err := tx.Bucket(bucketACMEAccountKeys).Put([]byte(a.Thumbprint), []byte(a.ID)); err != nil {
			return err
		}
		if a.EABKeyID == "" {
			unbound := tx.Bucket(bucketACMEUnbound)
			if unbound.Get([]byte(a.ID)) == nil {
				if err := unbound.Put([]byte(a.ID), nanosBytes(a.Created)); err != nil {
					return err
				}
			}
			if err := keepUnbound(tx, a.ID, a.Created); err != nil {
				return err
			}
		}
		return putRecord(tx, bucketACMEAccounts, a.ID, *a)
	case it.ACMEOrder != nil:
		o := it.ACMEOrder
		for _, az := range it.ACMEAuthzs {
			if err := putRecord(tx, bucketACMEAuthzs, az.ID, az); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketACMEAccountOrders).Put(accountOrderKey(o.Account, o.ID), nil); err != nil {
			return err
		}
		if o.Serial != nil {
			if err := tx.Bucket(bucketACMECerts).Put(serialKey(o.Serial), []byte(o.ID)); err != nil {
				return err
			}
		}
		if err := importLatestAuthzs(tx, o, it.ACMEAuthzs); err != nil {
			return err
		}
		if err := importOrderIndexes(tx, o, it.ACMEAuthzs); err != nil {
			return err
		}
		return putRecord(tx, bucketACMEOrders, o.ID, *o)
	case it.ACMEEAB != nil:
		return putRecord(tx, bucketACMEEAB, it.ACMEEAB.ID, *it.ACMEEAB)
	case it.ACMENonceKey != nil:
		return tx.Bucket(bucketACMEMeta).Put(keyACMENonceKey, it.ACMENonceKey)
	case it.Announcement != nil:
		v, err := codec.EncodeAnnouncement(*it.Announcement)
		if err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketAnnounced)
		if err != nil {
			return err
		}
		return b.Put(it.Announcement.Key, v)
	case it.CRLNumber != nil:
		return tx.Bucket(bucketMeta).Put(crlNumberKey(it.CRLNumber.Root), binary.BigEndian.AppendUint64(nil, it.CRLNumber.Number))
	case it.UnboundACMECertificates != nil:
		// Imported orders do not count their certificates: this stands
		// for them all.
		return tx.Bucket(bucketACMEMeta).Put(keyUnboundACMECert, binary.BigEndian.AppendUint64(nil, uint64(max(*it.UnboundACMECertificates, 0))))
	default:
		return fmt.Errorf("import: an empty item")
	}
	return nil
}

// importOrderIndexes writes what an order implies for its account's
// count and the sweep, as CreateACMEOrder and PutACMECertificate would
// have, from the account and certificate the import wrote before it:
// what reindexACME writes, but the count of certificates of accounts
// without a binding, which an Item of its own brings. An order whose
// certificate is missing stays for good.
func importOrderIndexes(tx *bolt.Tx, o *ACMEOrder, azs []ACMEAuthz) error {
	expiry, err := tx.CreateBucketIfNotExists(bucketACMEAccountExpiry)
	if err != nil {
		return err
	}
	if err := expiry.Put(accountExpiryKey(o), binary.BigEndian.AppendUint32(nil, uint32(len(o.Identifiers)))); err != nil {
		return err
	}
	for _, az := range azs {
		if az.Order != o.ID {
			continue // reused: its own order's
		}
		if err := tx.Bucket(bucketACMEExpiry).Put(dueKey(dueAuthz, az.Expires, az.ID), nil); err != nil {
			return err
		}
	}
	if _, err := indexOrder(tx, o); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// importLatestAuthzs points the latest-authorization entries at the
// authorizations o made (not those it reused) where o is newer than the
// order of the entry's authorization: a migration brings orders in any
// order, and the latest is the one of the order created last.
func importLatestAuthzs(tx *bolt.Tx, o *ACMEOrder, azs []ACMEAuthz) error {
	latest, err := tx.CreateBucketIfNotExists(bucketACMEAccountAuthzs)
	if err != nil {
		return err
	}
	for _, az := range azs {
		if az.Order != o.ID {
			continue
		}
		k := accountAuthzKey(az.Account, az.Identifier)
		if id := latest.Get(k); id != nil {
			var had ACMEAuthz
			var ho ACMEOrder
			if getRecord(tx, bucketACMEAuthzs, "ACME authorization", string(id), &had) == nil &&
				getRecord(tx, bucketACMEOrders, "ACME order", had.Order, &ho) == nil &&
				(ho.Created.After(o.Created) || ho.Created.Equal(o.Created) && had.ID > az.ID) {
				continue
			}
		}
		if err := latest.Put(k, []byte(az.ID)); err != nil {
			return err
		}
	}
	return nil
}

var (
	_ storage.Exporter = (*DB)(nil)
	_ storage.Importer = (*DB)(nil)
)
