package store

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// PutChallenge durably stores a new pending challenge.
func (db *DB) PutChallenge(ch Challenge) error {
	v, err := codec.Encode(ch)
	if err != nil {
		return err
	}
	return db.group(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChallenges)
		if b.Get([]byte(ch.ID)) != nil {
			return fmt.Errorf("challenge %s: %w", ch.ID, ErrExists)
		}
		return b.Put([]byte(ch.ID), v)
	})
}

// Challenge reads one challenge by id.
func (db *DB) Challenge(id string) (Challenge, error) {
	var ch Challenge
	err := db.view(func(tx *bolt.Tx) error {
		return getChallenge(tx, id, &ch)
	})
	return ch, err
}

func getChallenge(tx *bolt.Tx, id string, ch *Challenge) error {
	v := tx.Bucket(bucketChallenges).Get([]byte(id))
	if v == nil {
		return fmt.Errorf("challenge %q: %w", id, ErrNotFound)
	}
	return codec.Decode(v, ch)
}

// CompleteChallenge stores the certificate a solved challenge produced and
// marks the challenge solved, in one transaction. If a concurrent solve got
// there first, nothing is written and the challenge as stored (with its
// Serial) is returned, so every caller answers with the same certificate.
func (db *DB) CompleteChallenge(id string, c *Certificate) (Challenge, error) {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	sc, err := db.sealedCertificate(c)
	if err != nil {
		return Challenge{}, err
	}
	cv, err := codec.Encode(sc)
	if err != nil {
		return Challenge{}, err
	}
	var ch Challenge
	err = db.group(func(tx *bolt.Tx) error {
		ch = Challenge{}
		if err := getChallenge(tx, id, &ch); err != nil {
			return refuse(err)
		}
		if ch.Serial != nil {
			return nil
		}
		if err := putCertificate(tx, c, cv); err != nil {
			return err
		}
		ch.Serial = c.Serial
		v, err := codec.Encode(ch)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketChallenges).Put([]byte(id), v)
	})
	return ch, err
}

// DeleteChallengesExpiredBefore removes challenges whose expiry lies before
// t, solved or not, and says how many went. Without it every unsolved
// request would stay in the file forever.
func (db *DB) DeleteChallengesExpiredBefore(t time.Time) (int, error) {
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChallenges)
		var doomed [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var ch Challenge
			if err := codec.Decode(v, &ch); err != nil {
				return err
			}
			if ch.Expires.Before(t) {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}

// PendingChallenges reads at most q.MaxScan challenges (they are keyed by
// a random id, not by owner: a day's worth is small, and the bound keeps a
// flood from making every listing slow) and keeps the owner's unsolved,
// unexpired ones, newest first.
func (db *DB) PendingChallenges(q PendingQuery) ([]Challenge, bool, error) {
	maxScan := q.MaxScan
	if maxScan <= 0 {
		maxScan = MaxScan
	}
	var out []Challenge
	more := false
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketChallenges).Cursor()
		read := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if read == maxScan {
				more = true
				break
			}
			read++
			var ch Challenge
			if err := codec.Decode(v, &ch); err != nil {
				return fmt.Errorf("challenge %q: %w", k, err)
			}
			if ch.Owner == q.Owner && ch.Serial == nil && ch.Expires.After(q.Now) {
				out = append(out, ch)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(out, func(a, b Challenge) int { return b.Created.Compare(a.Created) })
	if q.Limit > 0 && len(out) > q.Limit {
		out, more = out[:q.Limit], true
	}
	return out, more, nil
}
