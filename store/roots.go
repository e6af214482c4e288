package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// PutRoot stores a root or an intermediate; with active it becomes the
// issuer of new certificates in the same transaction.
func (db *DB) PutRoot(r Root, active bool) error {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	if err := seal.Root(db.keys.Seal, &r); err != nil {
		return err
	}
	v, err := codec.Encode(r)
	if err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketRoots).Put([]byte(r.Fingerprint), v); err != nil {
			return err
		}
		if active {
			return tx.Bucket(bucketMeta).Put(keyActiveRoot, []byte(r.Fingerprint))
		}
		return nil
	})
}

// Roots returns every root and intermediate and the fingerprint of the
// active issuer ("" when there is none yet).
func (db *DB) Roots() ([]Root, string, error) {
	var out []Root
	var active string
	err := db.view(func(tx *bolt.Tx) error {
		active = string(tx.Bucket(bucketMeta).Get(keyActiveRoot))
		return tx.Bucket(bucketRoots).ForEach(func(_, v []byte) error {
			var r Root
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			if err := seal.Root(db.keys.Open, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("reading roots: %w", err)
	}
	return out, active, nil
}

// UpdateRoot changes one stored root or intermediate in one transaction;
// one that drops a key marks the file for erasing its free pages.
func (db *DB) UpdateRoot(fingerprint string, fn func(*Root) error) (Root, error) {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	var r Root
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRoots)
		v := b.Get([]byte(fingerprint))
		if v == nil {
			return fmt.Errorf("root %.64q: %w", fingerprint, ErrNotFound)
		}
		r = Root{}
		if err := codec.Decode(v, &r); err != nil {
			return err
		}
		if err := seal.Root(db.keys.Open, &r); err != nil {
			return err
		}
		keyDropped, err := storage.EditRoot(fingerprint, &r, fn)
		if err != nil {
			return err
		}
		if keyDropped {
			// The sealed key is in a freed page now, which the current
			// key file opens: marked in this commit, so that a crash
			// before the rekey `root offline` runs next still leaves it
			// to the next Open to erase (scrub.go).
			if err := tx.Bucket(bucketMeta).Put(keyRewrite, []byte{1}); err != nil {
				return err
			}
		}
		sealed := r
		if err := seal.Root(db.keys.Seal, &sealed); err != nil {
			return err
		}
		nv, err := codec.Encode(sealed)
		if err != nil {
			return err
		}
		return b.Put([]byte(fingerprint), nv)
	})
	return r, err
}
