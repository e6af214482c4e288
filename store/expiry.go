package store

import (
	"bytes"
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

// CountExpiry counts certificates by when they end, one owner's or
// everyone's alike: totals from the counters, periods from the per-day
// counters and the part-days at their ends from the expiry index. Every
// certificate is counted, so Uncounted is always 0 and q.Max is not
// needed (it is still checked, as the seam asks).
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
	err := db.view(func(tx *bolt.Tx) error {
		counts := tx.Bucket(bucketCounts)
		out.Revoked = getCount(counts, countKey('r', q.Owner))
		unrevoked := getCount(counts, countKey('n', q.Owner)) - out.Revoked
		// Expired: ended at or before Now, as inventory.Describe says.
		from := nanos(q.Now) + 1
		out.Expired = countEnding(tx, q.Owner, 0, from)
		rest := unrevoked - out.Expired
		for i, b := range q.Bounds {
			to := max(nanos(b), from)
			out.Periods[i] = countEnding(tx, q.Owner, from, to)
			rest -= out.Periods[i]
			from = to
		}
		out.Later = rest
		return nil
	})
	if err != nil {
		return ExpiryCounts{}, fmt.Errorf("counting certificates by expiry: %w", err)
	}
	return out, nil
}

// ExpiringCertificates returns unrevoked certificates whose not-after lies
// after after and before before, soonest first, at most limit of them:
// a range of the expiry index, so its cost follows what it returns.
func (db *DB) ExpiringCertificates(after, before time.Time, limit int) ([]Certificate, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("expiring certificates: limit must be positive")
	}
	var out []Certificate
	err := db.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketByExpiry).Cursor()
		end := sortKey(before, new(big.Int))
		for k, _ := cur.Seek(sortKey(after.Add(time.Nanosecond), new(big.Int))); k != nil && bytes.Compare(k, end) < 0 && len(out) < limit; k, _ = cur.Next() {
			var c Certificate
			if err := getCertificate(tx, new(big.Int).SetBytes(k[8:]), &c); err != nil {
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
