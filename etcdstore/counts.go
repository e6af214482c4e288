package etcdstore

import (
	"fmt"
	"math/big"
	"time"

	"certmaker/storage"
)

// Counts are counted by etcd from the indexes (a count-only range sends
// no keys): no counter is written by every issuance, so issuances on
// different nodes never conflict over one. A count walks the range in
// etcd's in-memory index, so it costs in proportion to what it counts;
// docs/cluster.md has the measurement.

// CountCertificates counts one user's certificates.
func (db *DB) CountCertificates(owner string) (int, error) {
	return db.countPrefix(db.key(tOwnerCerts, scoped(owner, "")))
}

// CountAllCertificates counts every certificate.
func (db *DB) CountAllCertificates() (int, error) {
	return db.countPrefix(db.key(tByCreated, ""))
}

func (db *DB) countPrefix(p string) (int, error) {
	var n int
	err := db.view(func(t *tx) error {
		var err error
		n, err = t.count(p, prefixEnd(p))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("counting certificates: %w", err)
	}
	return n, nil
}

// ending counts scope's unrevoked certificates whose not-after lies in
// [from, to).
func (t *tx) ending(owner string, from, to time.Time) (int, error) {
	table, scope := tByExpiry, ""
	if owner != "" {
		table, scope = tOwnerExpiry, scoped(owner, "")
	}
	if !to.After(from) {
		return 0, nil
	}
	return t.count(t.db.key(table, scope+ascKey(from, new(big.Int))), t.db.key(table, scope+ascKey(to, new(big.Int))))
}

// CountExpiring counts unrevoked certificates whose not-after lies in
// [from, to).
func (db *DB) CountExpiring(from, to time.Time) (int, error) {
	var n int
	err := db.view(func(t *tx) error {
		var err error
		n, err = t.ending("", from, to)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("counting expiring certificates: %w", err)
	}
	return n, nil
}

// CountExpiry counts certificates by when they end, all at one revision.
// etcd counts every one, so Uncounted is always 0.
func (db *DB) CountExpiry(q storage.ExpiryQuery) (storage.ExpiryCounts, error) {
	if q.Max <= 0 {
		return storage.ExpiryCounts{}, fmt.Errorf("expiry count: max must be positive")
	}
	for i := 1; i < len(q.Bounds); i++ {
		if !q.Bounds[i].After(q.Bounds[i-1]) {
			return storage.ExpiryCounts{}, fmt.Errorf("expiry count: bounds must ascend")
		}
	}
	out := storage.ExpiryCounts{Periods: make([]int, len(q.Bounds))}
	err := db.view(func(t *tx) error {
		total := db.key(tByCreated, "")
		if q.Owner != "" {
			total = db.key(tOwnerCerts, scoped(q.Owner, ""))
		}
		revoked := db.key(tByRevoked, scoped(q.Owner, ""))
		n, err := t.count(total, prefixEnd(total))
		if err != nil {
			return err
		}
		if out.Revoked, err = t.count(revoked, prefixEnd(revoked)); err != nil {
			return err
		}
		// Expired: ended at or before Now.
		from := q.Now.Add(time.Nanosecond)
		if out.Expired, err = t.ending(q.Owner, time.Unix(0, 0), from); err != nil {
			return err
		}
		rest := n - out.Revoked - out.Expired
		for i, b := range q.Bounds {
			to := b
			if to.Before(from) {
				to = from
			}
			if out.Periods[i], err = t.ending(q.Owner, from, to); err != nil {
				return err
			}
			rest -= out.Periods[i]
			from = to
		}
		out.Later = rest
		return nil
	})
	if err != nil {
		return storage.ExpiryCounts{}, fmt.Errorf("counting certificates by expiry: %w", err)
	}
	return out, nil
}
