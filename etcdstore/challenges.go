package etcdstore

import (
	"fmt"
	"slices"
	"time"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// PutChallenge stores a new pending challenge.
func (db *DB) PutChallenge(ch storage.Challenge) error {
	v, err := codec.Encode(ch)
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		k := db.key(tChallenges, ch.ID)
		old, err := t.get(k)
		if err != nil {
			return err
		}
		if old != nil {
			return fmt.Errorf("challenge %s: %w", ch.ID, storage.ErrExists)
		}
		t.put(k, v)
		return nil
	})
	return err
}

// Challenge reads one challenge by id.
func (db *DB) Challenge(id string) (storage.Challenge, error) {
	var ch storage.Challenge
	err := db.view(func(t *tx) error { return t.challenge(id, &ch) })
	return ch, err
}

func (t *tx) challenge(id string, ch *storage.Challenge) error {
	v, err := t.get(t.db.key(tChallenges, id))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("challenge %q: %w", id, storage.ErrNotFound)
	}
	*ch = storage.Challenge{}
	return codec.Decode(v, ch)
}

// CompleteChallenge stores c and marks the challenge solved in one
// transaction, which compares the challenge: of two solves on any nodes,
// one commits and the other finds its serial.
func (db *DB) CompleteChallenge(id string, c *storage.Certificate) (storage.Challenge, error) {
	w, err := db.newCertWrite(c)
	if err != nil {
		return storage.Challenge{}, err
	}
	var ch storage.Challenge
	var rest []string
	_, err = db.update(func(t *tx) error {
		rest = nil
		if err := t.challenge(id, &ch); err != nil {
			return err
		}
		if ch.Serial != nil {
			if ch.Serial.Cmp(c.Serial) == 0 {
				rest = w.names // ours, its answer lost: finish it
			}
			return nil
		}
		ch.Serial = c.Serial
		v, err := codec.Encode(ch)
		if err != nil {
			return err
		}
		t.put(db.key(tChallenges, id), v)
		if _, err := w.write(t); err != nil {
			return err
		}
		rest = w.rest()
		return nil
	})
	if err != nil {
		return storage.Challenge{}, err
	}
	return ch, db.finishNames(c, rest)
}

// DeleteChallengesExpiredBefore removes challenges that expired before t,
// a page at a time: each page's deletions are one transaction that
// compares what it read, so a sweep on another node at the same time or
// a crash in between leaves nothing wrong, and the next sweep goes on.
func (db *DB) DeleteChallengesExpiredBefore(before time.Time) (int, error) {
	p := db.key(tChallenges, "")
	from, end := p, prefixEnd(p)
	n := 0
	for {
		var next string
		var deleted int
		_, err := db.update(func(t *tx) error {
			deleted, next = 0, ""
			kvs, more, err := t.scan(from, end, maxOps)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				var ch storage.Challenge
				if err := codec.Decode(kv.Value, &ch); err != nil {
					return fmt.Errorf("challenge %q: %w", kv.Key, err)
				}
				if ch.Expires.Before(before) {
					t.reads[string(kv.Key)] = kv.ModRevision
					t.del(string(kv.Key))
					deleted++
				}
			}
			if more && len(kvs) > 0 {
				next = string(kvs[len(kvs)-1].Key) + "\x00"
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += deleted
		if next == "" {
			return n, nil
		}
		from = next
	}
}

// PendingChallenges reads at most q.MaxScan challenges and keeps the
// owner's unsolved, unexpired ones, newest first.
func (db *DB) PendingChallenges(q storage.PendingQuery) ([]storage.Challenge, bool, error) {
	maxScan := q.MaxScan
	if maxScan <= 0 {
		maxScan = storage.MaxScan
	}
	var out []storage.Challenge
	more := false
	err := db.view(func(t *tx) error {
		p := db.key(tChallenges, "")
		from, end, read := p, prefixEnd(p), 0
		for {
			kvs, left, err := t.scan(from, end, min(pageSize, maxScan-read+1))
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if read == maxScan {
					more = true
					return nil
				}
				read++
				var ch storage.Challenge
				if err := codec.Decode(kv.Value, &ch); err != nil {
					return fmt.Errorf("challenge %q: %w", kv.Key, err)
				}
				if ch.Owner == q.Owner && ch.Serial == nil && ch.Expires.After(q.Now) {
					out = append(out, ch)
				}
			}
			if !left || len(kvs) == 0 {
				return nil
			}
			from = string(kvs[len(kvs)-1].Key) + "\x00"
		}
	})
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(out, func(a, b storage.Challenge) int { return b.Created.Compare(a.Created) })
	if q.Limit > 0 && len(out) > q.Limit {
		out, more = out[:q.Limit], true
	}
	return out, more, nil
}
