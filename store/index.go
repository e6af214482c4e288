package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Certificates are indexed three ways, all keyed so that a listing is a
// cursor walk rather than a scan of every record:
//   - owner_certs: owner + 0 + sort key, one user's certificates by age;
//   - by_created:  sort key, everyone's certificates by age;
//   - by_expiry:   not-after (8 bytes) + serial, unrevoked certificates by
//     expiry, so "what expires soon" is a range.
//
// The sort key is the issue time in Unix nanoseconds (8 bytes, big-endian)
// followed by the serial, which breaks ties.
var (
	bucketByCreated = []byte("by_created")
	bucketByExpiry  = []byte("by_expiry")
)

// appendFill is the fill percent of buckets whose new keys cluster at one
// growing end (certificates, keyed by time-prefixed serials, and
// by_created; in a file from before those serials, new keys still land
// next to each other, just not after the old random ones):
// bbolt's default of half-full pages suits random inserts, but when keys
// only grow it leaves every page half empty for good. Fuller pages halve
// the file and save a few page writes per commit (bbolt's TxStats: 22 to
// 19 per commit of 16 certificates).
const appendFill = 0.9

// SortKey orders certificates by issue time, then serial. Listings hand it
// out (hex) as their paging cursor.
func SortKey(c *Certificate) []byte {
	return sortKey(c.Created, c.Serial)
}

func sortKey(t time.Time, serial *big.Int) []byte {
	k := make([]byte, 8, 8+20)
	var n uint64
	if t.After(time.Unix(0, 0)) {
		// UnixNano is undefined far from 1970; certificates live after it.
		n = uint64(t.UnixNano())
	}
	binary.BigEndian.PutUint64(k, n)
	return append(k, serialKey(serial)...)
}

func ownerKey(owner string, sk []byte) []byte {
	k := make([]byte, 0, len(owner)+1+len(sk))
	k = append(k, owner...)
	k = append(k, 0)
	return append(k, sk...)
}

func serialOfSortKey(sk []byte) *big.Int { return new(big.Int).SetBytes(sk[8:]) }

// indexCertificate adds a new certificate to every index.
func indexCertificate(tx *bolt.Tx, c *Certificate) error {
	sk := SortKey(c)
	if err := tx.Bucket(bucketOwnerCerts).Put(ownerKey(c.Owner, sk), nil); err != nil {
		return err
	}
	byCreated := tx.Bucket(bucketByCreated)
	byCreated.FillPercent = appendFill
	if err := byCreated.Put(sk, nil); err != nil {
		return err
	}
	if c.Revoked {
		return nil
	}
	return tx.Bucket(bucketByExpiry).Put(sortKey(c.NotAfter, c.Serial), nil)
}

// reindex rebuilds every certificate index and the revocation index from
// the records themselves; migrations end with it.
func reindex(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketOwnerCerts, bucketByCreated, bucketByExpiry, bucketRevoked} {
		if err := tx.DeleteBucket(name); err != nil && tx.Bucket(name) != nil {
			return err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	return tx.Bucket(bucketCerts).ForEach(func(k, v []byte) error {
		var c Certificate
		if err := decode(v, &c); err != nil {
			return err
		}
		c.Serial = new(big.Int).SetBytes(k)
		if err := indexCertificate(tx, &c); err != nil {
			return err
		}
		if !c.Revoked {
			return nil
		}
		rv, err := encode(Revocation{At: c.RevokedAt, Reason: c.Reason})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketRevoked).Put(revokedKey(c.Root, c.Serial), rv); err != nil {
			return err
		}
		_, err = bumpUint(meta, revGenKey(c.Root))
		return err
	})
}

// ListCertificates returns one page of certificates matching q, newest
// first, and the cursor of the next page (nil at the end). It walks one
// owner's index or everyone's, newest first, filtering as it goes, so its
// memory and work are bounded by Limit and MaxScan whatever the filter.
func (db *DB) ListCertificates(q ListQuery) ([]Certificate, []byte, error) {
	if q.Limit <= 0 {
		return nil, nil, fmt.Errorf("list limit must be positive")
	}
	var out []Certificate
	var next []byte
	expiring := !q.ExpiringBefore.IsZero()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var cur *bolt.Cursor
		var prefix []byte
		if q.Owner != "" {
			cur = tx.Bucket(bucketOwnerCerts).Cursor()
			prefix = ownerKey(q.Owner, nil)
		} else {
			cur = tx.Bucket(bucketByCreated).Cursor()
		}
		scanned := 0
		var last []byte
		for k := seekBelow(cur, prefix, q.Before); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Prev() {
			if len(out) == q.Limit || scanned == MaxScan {
				// More may follow: go on below the last key read.
				next = last
				return nil
			}
			scanned++
			sk := k[len(prefix):]
			last = bytes.Clone(sk)
			var c Certificate
			if err := getCertificate(tx, serialOfSortKey(sk), &c); err != nil {
				return err
			}
			if q.RevokedOnly && !c.Revoked {
				continue
			}
			if expiring && (c.Revoked || c.NotAfter.Before(q.ExpiringAfter) || !c.NotAfter.Before(q.ExpiringBefore)) {
				continue
			}
			out = append(out, c)
		}
		return nil
	})
	if err == nil {
		err = db.openCertificates(out)
	}
	return out, next, err
}

// seekBelow positions cur on the last key with prefix that is below
// prefix+before (or the last with prefix when before is nil).
func seekBelow(cur *bolt.Cursor, prefix, before []byte) []byte {
	var bound []byte
	if before != nil {
		bound = append(bytes.Clone(prefix), before...)
	} else if prefix != nil {
		// The first key after every key with this prefix.
		bound = bytes.Clone(prefix)
		bound[len(bound)-1]++
	}
	var k []byte
	if bound == nil {
		k, _ = cur.Last()
	} else if k, _ = cur.Seek(bound); k == nil {
		k, _ = cur.Last()
	} else {
		k, _ = cur.Prev()
	}
	return k
}

// CountExpiring counts unrevoked certificates whose not-after lies in
// [from, to), from the expiry index alone.
func (db *DB) CountExpiring(from, to time.Time) (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketByExpiry).Cursor()
		end := sortKey(to, new(big.Int))
		for k, _ := cur.Seek(sortKey(from, new(big.Int))); k != nil && bytes.Compare(k, end) < 0; k, _ = cur.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// CountAllCertificates counts every certificate ever issued.
func (db *DB) CountAllCertificates() (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketCerts).Stats().KeyN
		return nil
	})
	return n, err
}
