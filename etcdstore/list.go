package etcdstore

import (
	"fmt"
	"math/big"
	"strings"

	"certmaker/storage"
)

// span is a range [lo, hi) of one index's keys after its table and
// scope; "" for hi runs to the scope's end.
type span struct{ lo, hi string }

// listPlan is how one ListQuery is answered: the index, its scope, the
// spans walked in order (each in ascending key order: the newest-first
// indexes are keyed so), and where a key holds its serial.
type listPlan struct {
	table, scope string
	spans        []span
	serial       func(rest string) *big.Int
	rev          func(rest string) string // the name of a name entry
}

func serialOfAsc(rest string) *big.Int { return new(big.Int).SetBytes([]byte(rest[8:])) }

// nameOf splits a name entry after its scope: the reversed name, and where
// its newest key starts.
func nameOf(rest string) (string, int) {
	end := strings.IndexByte(rest, 0xff)
	b := []byte(rest[:end])
	for i := range b {
		b[i] = ^b[i]
	}
	return string(b), end + 1
}

func planList(q storage.ListQuery) listPlan {
	scope := scoped(q.Owner, "")
	all := []span{{"", ""}}
	switch {
	case q.Name != "":
		rev := storage.ReverseName(q.Name)
		exact := invertName(rev)
		p := listPlan{table: tByName, scope: scope, spans: []span{{exact, prefixEnd(exact)}}}
		if q.NameSuffix {
			under := invertName(rev + ".")
			under = under[:len(under)-1] // every name that starts so
			p.spans = []span{{under, prefixEnd(under)}, p.spans[0]}
		}
		p.serial = func(rest string) *big.Int { _, i := nameOf(rest); return serialOfNewest(rest[i:]) }
		p.rev = func(rest string) string { r, _ := nameOf(rest); return r }
		return p
	case q.RevokedOnly:
		return listPlan{table: tByRevoked, scope: scope, spans: all, serial: serialOfNewest}
	case q.Expiring():
		p := listPlan{table: tByExpiry, serial: serialOfAsc}
		if q.Owner != "" {
			p.table, p.scope = tOwnerExpiry, scope
		}
		s := span{ascKey(q.ExpiringAfter, new(big.Int)), ""}
		if !q.ExpiringBefore.IsZero() {
			s.hi = ascKey(q.ExpiringBefore, new(big.Int))
		}
		p.spans = []span{s}
		return p
	case q.Owner != "":
		return listPlan{table: tOwnerCerts, scope: scope, spans: all, serial: serialOfNewest}
	}
	return listPlan{table: tByCreated, spans: all, serial: serialOfNewest}
}

// ListCertificates returns one page of certificates matching q and the
// cursor of the next page (nil at the end): index entries read a page at
// a time and their records in batches, all at one revision, so a page is
// what the store held at one moment.
func (db *DB) ListCertificates(q storage.ListQuery) ([]storage.Certificate, []byte, error) {
	if q.Limit <= 0 {
		return nil, nil, fmt.Errorf("list limit must be positive")
	}
	if len(q.Before) > storage.MaxCursor {
		return nil, nil, fmt.Errorf("list cursor of %d bytes is longer than any handed out", len(q.Before))
	}
	if q.RevokedOnly && q.Expiring() || !q.ExpiringBefore.IsZero() && !q.ExpiringBefore.After(q.ExpiringAfter) {
		return nil, nil, nil
	}
	p := planList(q)
	base := db.key(p.table, p.scope)
	var out []storage.Certificate
	var next []byte
	err := db.view(func(t *tx) error {
		scanned := 0
		var last []byte
		for _, s := range p.spans {
			from := s.lo
			if q.Before != nil {
				c := string(q.Before)
				if s.hi != "" && c >= s.hi {
					continue // the cursor is past this span
				}
				if c >= from {
					from = c + "\x00"
				}
			}
			for {
				// One key more than the page needs tells whether another
				// page follows.
				want := min(q.Limit-len(out), storage.MaxScan-scanned, maxOps-1) + 1
				end := base + s.hi
				if s.hi == "" {
					end = prefixEnd(base)
				}
				kvs, more, err := t.scan(base+from, end, want)
				if err != nil {
					return err
				}
				keys := make([]string, len(kvs))
				serials := make([]*big.Int, len(kvs))
				for i, kv := range kvs {
					serials[i] = p.serial(string(kv.Key[len(base):]))
					keys[i] = db.key(tCerts, serialKey(serials[i]))
				}
				vals, err := t.getAll(keys)
				if err != nil {
					return err
				}
				for i, v := range vals {
					if len(out) == q.Limit || scanned == storage.MaxScan {
						next = last // more may follow: go on after the last key read
						return nil
					}
					scanned++
					rest := string(kvs[i].Key[len(base):])
					last = []byte(rest)
					if v == nil {
						continue // an entry whose record is not there: never written so
					}
					var c storage.Certificate
					if err := decodeCertificate(v, serials[i], &c); err != nil {
						return err
					}
					rev := ""
					if p.rev != nil {
						rev = p.rev(rest)
					}
					if q.Keeps(&c, rev) {
						out = append(out, c)
					}
				}
				if !more || len(kvs) == 0 {
					break
				}
				from = string(kvs[len(kvs)-1].Key[len(base):]) + "\x00"
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing certificates: %w", err)
	}
	for i := range out {
		if err := db.openCertificate(&out[i]); err != nil {
			return nil, nil, err
		}
	}
	return out, next, nil
}
