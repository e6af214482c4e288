package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage"
)

// ExpiryQuery and ExpiryCounts are the storage seam's (storage/expiry.go).
type (
	ExpiryQuery  = storage.ExpiryQuery
	ExpiryCounts = storage.ExpiryCounts
)

// CountExpiry counts certificates by when they end. Everyone's come from
// the expiry index alone, walked forward from Now (keys only, no record is
// read); one owner's from the owner index, newest first, reading records,
// since the expiry index does not know owners. Either stops at q.Max and
// says how many it did not look at.
func (db *DB) CountExpiry(q ExpiryQuery) (ExpiryCounts, error) {
	if q.Max <= 0 {
		return ExpiryCounts{}, fmt.Errorf("expiry count: max must be positive")
	}
	for i := 1; i < len(q.Bounds); i++ {
		if !q.Bounds[i].After(q.Bounds[i-1]) {
			return ExpiryCounts{}, fmt.Errorf("expiry count: bounds must ascend")
		}
	}
	out := ExpiryCounts{Periods: make([]int, len(q.Bounds))}
	// period is the index of the period notAfter (after Now) falls in;
	// len(Bounds) is "later".
	period := func(notAfter time.Time, from int) int {
		i := from
		for i < len(q.Bounds) && !notAfter.Before(q.Bounds[i]) {
			i++
		}
		return i
	}
	count := func(i int) {
		if i == len(q.Bounds) {
			out.Later++
		} else {
			out.Periods[i]++
		}
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if q.Owner == "" {
			return countExpiryAll(tx, q, &out, period, count)
		}
		return countExpiryOwner(tx, q, &out, period, count)
	})
	if err != nil {
		return ExpiryCounts{}, fmt.Errorf("counting certificates by expiry: %w", err)
	}
	return out, nil
}

func countExpiryAll(tx *bolt.Tx, q ExpiryQuery, out *ExpiryCounts, period func(time.Time, int) int, count func(int)) error {
	byExpiry := tx.Bucket(bucketByExpiry)
	unrevoked := byExpiry.Stats().KeyN
	out.Revoked = tx.Bucket(bucketRevoked).Stats().KeyN
	// The first key after every key that ends exactly at Now: those have
	// expired, as inventory.Describe says.
	cur := byExpiry.Cursor()
	walked, p := 0, 0
	k, _ := cur.Seek(sortKey(q.Now.Add(time.Nanosecond), new(big.Int)))
	for ; k != nil && walked < q.Max; k, _ = cur.Next() {
		walked++
		// Keys are in order, so the period only ever moves on.
		p = period(time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), p)
		count(p)
	}
	if k == nil {
		out.Expired = unrevoked - walked
	} else {
		out.Uncounted = unrevoked - walked
	}
	return nil
}

func countExpiryOwner(tx *bolt.Tx, q ExpiryQuery, out *ExpiryCounts, period func(time.Time, int) int, count func(int)) error {
	prefix := ownerKey(q.Owner, nil)
	cur := tx.Bucket(bucketOwnerCerts).Cursor()
	read := 0
	for k := seekBelow(cur, prefix, nil); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Prev() {
		if read == q.Max {
			// Keys only from here: cheap, and the totals still add up.
			out.Uncounted++
			continue
		}
		read++
		var c Certificate
		if err := getCertificate(tx, serialOfSortKey(k[len(prefix):]), &c); err != nil {
			return err
		}
		switch {
		case c.Revoked:
			out.Revoked++
		case !c.NotAfter.After(q.Now):
			out.Expired++
		default:
			count(period(c.NotAfter, 0))
		}
	}
	return nil
}

// ExpiringCertificates returns unrevoked certificates whose not-after lies
// after after and before before, soonest first, at most limit of them:
// a range of the expiry index, so its cost follows what it returns.
func (db *DB) ExpiringCertificates(after, before time.Time, limit int) ([]Certificate, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("expiring certificates: limit must be positive")
	}
	var out []Certificate
	err := db.bolt.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketByExpiry).Cursor()
		end := sortKey(before, new(big.Int))
		for k, _ := cur.Seek(sortKey(after.Add(time.Nanosecond), new(big.Int))); k != nil && bytes.Compare(k, end) < 0 && len(out) < limit; k, _ = cur.Next() {
			var c Certificate
			if err := getCertificate(tx, serialOfSortKey(k), &c); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err == nil {
		err = db.openCertificates(out)
	}
	if err != nil {
		return nil, fmt.Errorf("reading expiring certificates: %w", err)
	}
	return out, nil
}
