package etcdstore

import (
	"fmt"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// PutRoot stores a root or an intermediate; with active it becomes the
// issuer of new certificates in the same commit.
func (db *DB) PutRoot(r storage.Root, active bool) error {
	_, err := db.update(func(t *tx) error {
		sealed := r
		if err := t.sealRoot(&sealed); err != nil {
			return err
		}
		v, err := codec.Encode(sealed)
		if err != nil {
			return err
		}
		t.put(db.key(tRoots, r.Fingerprint), v)
		if active {
			t.put(db.key(tMeta, kActiveRoot), []byte(r.Fingerprint))
		}
		return nil
	})
	return err
}

// Roots returns every root and intermediate and the active issuer's
// fingerprint, read at one revision.
func (db *DB) Roots() ([]storage.Root, string, error) {
	var out []storage.Root
	var active string
	err := db.view(func(t *tx) error {
		a, err := t.get(db.key(tMeta, kActiveRoot))
		if err != nil {
			return err
		}
		active = string(a)
		p := db.key(tRoots, "")
		return t.each(p, prefixEnd(p), func(_ string, v []byte) error {
			var r storage.Root
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			if err := seal.Root(db.open, &r); err != nil {
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

// UpdateRoot changes one stored root or intermediate in one transaction.
func (db *DB) UpdateRoot(fingerprint string, fn func(*storage.Root) error) (storage.Root, error) {
	var r storage.Root
	_, err := db.update(func(t *tx) error {
		k := db.key(tRoots, fingerprint)
		v, err := t.get(k)
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("root %.64q: %w", fingerprint, storage.ErrNotFound)
		}
		r = storage.Root{}
		if err := codec.Decode(v, &r); err != nil {
			return err
		}
		if err := seal.Root(db.open, &r); err != nil {
			return err
		}
		if _, err := storage.EditRoot(fingerprint, &r, fn); err != nil {
			return err
		}
		sealed := r
		if err := t.sealRoot(&sealed); err != nil {
			return err
		}
		nv, err := codec.Encode(sealed)
		if err != nil {
			return err
		}
		t.put(k, nv)
		return nil
	})
	return r, err
}

// sealRoot seals a root's key in a transaction that writes it, under the
// key of the store's check value (rekeyed.go).
func (t *tx) sealRoot(r *storage.Root) error {
	if r.KeyPKCS8 == nil {
		return nil
	}
	if err := t.sealedNow(); err != nil {
		return err
	}
	return seal.Root(t.db.keys.Seal, r)
}
