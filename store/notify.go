package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// bucketAnnounced remembers which expiry warnings were delivered where
// (key: the notifier's own, e.g. target + certificate), so that a restart
// does not send them again.
//
// It is made by the first write rather than by Open's migration: it adds
// to the layout without changing anything there, so an older certmaker
// that ignores it can still open the file and no schema bump is needed.
var bucketAnnounced = []byte("announced")

// Announced reports whether key was marked announced.
func (db *DB) Announced(key []byte) (bool, error) {
	var found bool
	err := db.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAnnounced); b != nil {
			found = b.Get(key) != nil
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reading announcement: %w", err)
	}
	return found, nil
}

// MarkAnnounced records key as announced at at, to be forgotten after
// until (see ForgetAnnounced).
func (db *DB) MarkAnnounced(key []byte, at, until time.Time) error {
	v, err := codec.EncodeAnnouncement(storage.Announcement{Key: key, At: at, Until: until})
	if err != nil {
		return err
	}
	err = db.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAnnounced)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
	if err != nil {
		return fmt.Errorf("recording announcement: %w", err)
	}
	return nil
}

// ForgetAnnounced deletes the records whose until lies before before, at
// most max of them, and returns how many it deleted. The bucket then holds
// about as many records as certificates within their warning window.
func (db *DB) ForgetAnnounced(before time.Time, max int) (int, error) {
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAnnounced)
		if b == nil {
			return nil
		}
		// Deleting while a cursor walks makes it skip keys; collect first.
		var gone [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if len(gone) == max {
				return nil
			}
			a, err := codec.DecodeAnnouncement(k, v)
			if err != nil {
				return err
			}
			if a.Until.Before(before) {
				gone = append(gone, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range gone {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("forgetting announcements: %w", err)
	}
	return n, nil
}
