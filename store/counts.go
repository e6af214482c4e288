package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Counts come from the counters the writes keep (index.go), and from the
// expiry indexes only for the part of a day at either end of a range, so
// a count costs the same for a thousand certificates or a million.

// CountCertificates counts one user's certificates.
func (db *DB) CountCertificates(owner string) (int, error) {
	return db.count(countKey('n', owner))
}

// CountAllCertificates counts every certificate ever issued.
func (db *DB) CountAllCertificates() (int, error) {
	return db.count(countKey('n', ""))
}

func (db *DB) count(k []byte) (int, error) {
	var n int
	err := db.view(func(tx *bolt.Tx) error {
		n = getCount(tx.Bucket(bucketCounts), k)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting certificates: %w", err)
	}
	return n, nil
}

// CountExpiring counts unrevoked certificates whose not-after lies in
// [from, to).
func (db *DB) CountExpiring(from, to time.Time) (int, error) {
	var n int
	err := db.view(func(tx *bolt.Tx) error {
		n = countEnding(tx, "", nanos(from), nanos(to))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting expiring certificates: %w", err)
	}
	return n, nil
}

// countEnding counts scope's unrevoked certificates whose not-after, in
// Unix nanoseconds, lies in [from, to): the whole days in between from
// their counters, the part-days at the ends from the expiry index.
func countEnding(tx *bolt.Tx, scope string, from, to uint64) int {
	if to <= from {
		return 0
	}
	d0, d1 := (from+day-1)/day, to/day // whole days [d0, d1)
	if d0 >= d1 {
		return countKeys(tx, scope, from, to)
	}
	n := countKeys(tx, scope, from, d0*day) + countKeys(tx, scope, d1*day, to)
	counts := tx.Bucket(bucketCounts)
	end := dayKey(scope, d1)
	cur := counts.Cursor()
	for k, v := cur.Seek(dayKey(scope, d0)); k != nil && bytes.Compare(k, end) < 0; k, v = cur.Next() {
		n += int(binary.BigEndian.Uint64(v))
	}
	return n
}

// countKeys counts the expiry index keys of scope in [from, to).
func countKeys(tx *bolt.Tx, scope string, from, to uint64) int {
	if to <= from {
		return 0
	}
	b, prefix := tx.Bucket(bucketByExpiry), []byte(nil)
	if scope != "" {
		b, prefix = tx.Bucket(bucketOwnerExpiry), ownerKey(scope, nil)
	}
	end := binary.BigEndian.AppendUint64(bytes.Clone(prefix), to)
	cur := b.Cursor()
	n := 0
	for k, _ := cur.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), from)); k != nil && bytes.Compare(k, end) < 0; k, _ = cur.Next() {
		n++
	}
	return n
}
