package store

import (
	"bytes"
	"fmt"
	"math/big"

	bolt "go.etcd.io/bbolt"
)

// span is a range of one index's keys, [lo, hi); a nil hi runs to the end.
type span struct{ lo, hi []byte }

// listPlan is how one ListQuery is answered: the index, the ranges of it
// in the order they are walked, and where each key holds its serial.
type listPlan struct {
	bucket []byte
	prefix []byte // the scope's, cut off the cursors handed out
	spans  []span
	desc   bool
	// serial finds the serial in a key without its prefix.
	serial func(rest []byte) []byte
}

// afterTime is the serial of keys that start with an 8-byte time.
func afterTime(rest []byte) []byte { return rest[8:] }

// afterName is the serial of a by_name key: name, 0, sort key.
func afterName(rest []byte) []byte { return rest[bytes.IndexByte(rest, 0)+1+8:] }

// prefixEnd is the first key after every key that starts with p (p ends
// in the 0 of a scoped key, so the last byte never overflows); nil for
// no prefix.
func prefixEnd(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	end := bytes.Clone(p)
	end[len(end)-1]++
	return end
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func planList(q ListQuery) listPlan {
	scoped := ownerKey(q.Owner, nil)
	switch {
	case q.Name != "":
		p := listPlan{bucket: bucketByName, prefix: scoped, desc: true, serial: afterName}
		rev := []byte(reverseName(q.Name))
		exact := span{join(scoped, rev, []byte{0}), join(scoped, rev, []byte{1})}
		p.spans = []span{exact}
		if q.NameSuffix {
			// Walked downward, names under come before the name itself.
			p.spans = []span{{join(scoped, rev, []byte(".")), join(scoped, rev, []byte("/"))}, exact}
		}
		return p
	case q.RevokedOnly:
		return listPlan{bucket: bucketByRevoked, prefix: scoped, desc: true, serial: afterTime, spans: []span{{scoped, prefixEnd(scoped)}}}
	case q.Expiring():
		p := listPlan{bucket: bucketByExpiry, serial: afterTime}
		if q.Owner != "" {
			p.bucket, p.prefix = bucketOwnerExpiry, scoped
		}
		s := span{join(p.prefix, sortKey(q.ExpiringAfter, new(big.Int))), prefixEnd(p.prefix)}
		if !q.ExpiringBefore.IsZero() {
			s.hi = join(p.prefix, sortKey(q.ExpiringBefore, new(big.Int)))
		}
		p.spans = []span{s}
		return p
	case q.Owner != "":
		return listPlan{bucket: bucketOwnerCerts, prefix: scoped, desc: true, serial: afterTime, spans: []span{{scoped, prefixEnd(scoped)}}}
	}
	return listPlan{bucket: bucketByCreated, desc: true, serial: afterTime, spans: []span{{nil, nil}}}
}

// keeps applies the conditions of q the plan's index did not.
func keeps(q ListQuery, c *Certificate, rest []byte) bool {
	rev := ""
	if q.Name != "" {
		rev = string(rest[:bytes.IndexByte(rest, 0)])
	}
	return q.Keeps(c, rev)
}

// walkSpan calls fn on each key of s, upward or downward, starting after
// from (nil: at the start), until fn returns false; it reports whether
// fn stopped it.
func walkSpan(cur *bolt.Cursor, s span, desc bool, from []byte, fn func(k []byte) bool) bool {
	var k []byte
	if desc {
		start := s.hi
		if from != nil && (start == nil || bytes.Compare(from, start) < 0) {
			start = from
		}
		if start == nil {
			k, _ = cur.Last()
		} else if k, _ = cur.Seek(start); k == nil {
			k, _ = cur.Last()
		} else {
			k, _ = cur.Prev()
		}
		for ; k != nil && bytes.Compare(k, s.lo) >= 0; k, _ = cur.Prev() {
			if !fn(k) {
				return true
			}
		}
		return false
	}
	if from != nil && bytes.Compare(from, s.lo) >= 0 {
		if k, _ = cur.Seek(from); bytes.Equal(k, from) {
			k, _ = cur.Next()
		}
	} else {
		k, _ = cur.Seek(s.lo)
	}
	for ; k != nil && (s.hi == nil || bytes.Compare(k, s.hi) < 0); k, _ = cur.Next() {
		if !fn(k) {
			return true
		}
	}
	return false
}

// ListCertificates returns one page of certificates matching q and the
// cursor of the next page (nil at the end). It walks the one index that
// answers q (planList), so its work is bounded by Limit for what an
// index answers and by MaxScan for what must be filtered.
func (db *DB) ListCertificates(q ListQuery) ([]Certificate, []byte, error) {
	if q.Limit <= 0 {
		return nil, nil, fmt.Errorf("list limit must be positive")
	}
	if len(q.Before) > MaxCursor {
		return nil, nil, fmt.Errorf("list cursor of %d bytes is longer than any handed out", len(q.Before))
	}
	if q.RevokedOnly && q.Expiring() || !q.ExpiringBefore.IsZero() && !q.ExpiringBefore.After(q.ExpiringAfter) {
		// Revoked certificates are in no expiry range, and nothing ends
		// in an empty one: answered without reading.
		return nil, nil, nil
	}
	p := planList(q)
	var from []byte
	if q.Before != nil {
		from = join(p.prefix, q.Before)
	}
	var out []Certificate
	var next []byte
	err := db.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(p.bucket).Cursor()
		scanned := 0
		var last []byte
		var err error
		for _, s := range p.spans {
			stopped := walkSpan(cur, s, p.desc, from, func(k []byte) bool {
				if len(out) == q.Limit || scanned == MaxScan {
					// More may follow: go on after the last key read.
					next = last
					return false
				}
				scanned++
				rest := k[len(p.prefix):]
				last = bytes.Clone(rest)
				var c Certificate
				if err = getCertificate(tx, new(big.Int).SetBytes(p.serial(rest)), &c); err != nil {
					return false
				}
				if keeps(q, &c, rest) {
					out = append(out, c)
				}
				return true
			})
			if stopped {
				break
			}
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing certificates: %w", err)
	}
	if err := db.openCertificates(out); err != nil {
		return nil, nil, err
	}
	return out, next, nil
}
