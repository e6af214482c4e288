package etcdstore

import (
	"fmt"
	"time"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// Expiry warnings delivered (notify.Store), shared by every node so that
// a warning goes out once, whichever node's notifier sends it.

// Announced reports whether key was marked announced.
func (db *DB) Announced(key []byte) (bool, error) {
	var found bool
	err := db.view(func(t *tx) error {
		v, err := t.get(db.key(tAnnounced, string(key)))
		found = v != nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("reading announcement: %w", err)
	}
	return found, nil
}

// MarkAnnounced records key as announced at at, to be forgotten after until.
func (db *DB) MarkAnnounced(key []byte, at, until time.Time) error {
	v, err := codec.EncodeAnnouncement(storage.Announcement{Key: key, At: at, Until: until})
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		t.put(db.key(tAnnounced, string(key)), v)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording announcement: %w", err)
	}
	return nil
}

// ForgetAnnounced deletes at most max records whose until lies before
// before, a page at a time, and returns how many it deleted.
func (db *DB) ForgetAnnounced(before time.Time, max int) (int, error) {
	p := db.key(tAnnounced, "")
	from, end := p, prefixEnd(p)
	n := 0
	for n < max {
		var next string
		var gone int
		_, err := db.update(func(t *tx) error {
			gone, next = 0, ""
			kvs, more, err := t.scan(from, end, maxOps)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if n+gone == max {
					return nil
				}
				a, err := codec.DecodeAnnouncement(kv.Key, kv.Value)
				if err != nil {
					return err
				}
				if a.Until.Before(before) {
					t.reads[string(kv.Key)] = kv.ModRevision
					t.del(string(kv.Key))
					gone++
				}
			}
			if more && len(kvs) > 0 {
				next = string(kvs[len(kvs)-1].Key) + "\x00"
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("forgetting announcements: %w", err)
		}
		n += gone
		if next == "" {
			break
		}
		from = next
	}
	return n, nil
}

// ExpiringCertificates returns unrevoked certificates whose not-after lies
// after after and before before, soonest first, at most limit of them.
func (db *DB) ExpiringCertificates(after, before time.Time, limit int) ([]storage.Certificate, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("expiring certificates: limit must be positive")
	}
	if !before.After(after) {
		return nil, nil
	}
	out, _, err := db.ListCertificates(storage.ListQuery{ExpiringAfter: after.Add(time.Nanosecond), ExpiringBefore: before, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("reading expiring certificates: %w", err)
	}
	return out, nil
}
