package etcdstore

import (
	"errors"
	"fmt"
	"io/fs"
	"math/big"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// A rekey seals every secret under a new key, a page at a time, and then
// the check value, which is what says which key file opens the store. The
// new key is written beside the key file first (KeyFile + ".new") and
// replaces it once the check value is sealed with it; meta/rekey marks a
// rekey under way, so that a node restarting with the pending file goes
// on where a crash stopped it. Every node needs the new key file
// afterwards (docs/cluster.md).

// Rekey seals every secret under a new key and replaces the key file.
func (db *DB) Rekey() error {
	key, err := seal.StageKey(db.keyPath)
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		t.put(db.key(tMeta, kRekey), []byte("1"))
		return nil
	})
	if err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	return db.rekeyWith(key)
}

// resumeRekey finishes a rekey that meta/rekey says is under way, when
// this node holds its pending key file.
func (db *DB) resumeRekey() error {
	var marked []byte
	if err := db.view(func(t *tx) error {
		var err error
		marked, err = t.get(db.key(tMeta, kRekey))
		return err
	}); err != nil {
		return err
	}
	if marked == nil {
		return nil
	}
	key, err := seal.ReadKeyFile(seal.StagedKeyFile(db.keyPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another node's rekey: it finishes it
	}
	if err != nil {
		return err
	}
	return db.rekeyWith(key)
}

func (db *DB) rekeyWith(key []byte) error {
	if err := db.keys.Use(key); err != nil {
		return err
	}
	for _, table := range []string{tCerts, tRoots, tEAB} {
		if err := db.resealTable(table); err != nil {
			return fmt.Errorf("rekey: %w", err)
		}
	}
	cv, err := db.keys.CheckValue()
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		k := db.key(tMeta, kNonceKey)
		v, err := t.get(k)
		if err != nil {
			return err
		}
		if v != nil && !db.keys.IsCurrent(v) {
			nv, err := db.again(seal.NonceKey, "", v)
			if err != nil {
				return err
			}
			t.put(k, nv)
		}
		t.put(db.key(tMeta, kSealCheck), cv)
		t.del(db.key(tMeta, kRekey))
		return nil
	})
	if err != nil {
		return fmt.Errorf("rekey: sealing the check value: %w", err)
	}
	if err := seal.CommitKey(db.keyPath); err != nil {
		return fmt.Errorf("rekey committed, but replacing %s failed (the next start finishes it from %s): %w", db.keyPath, seal.StagedKeyFile(db.keyPath), err)
	}
	return nil
}

// resealTable seals anew, a page per transaction, every secret of a table
// not sealed with the current key.
func (db *DB) resealTable(table string) error {
	p := db.key(table, "")
	from, end := p, prefixEnd(p)
	for {
		var next string
		_, err := db.update(func(t *tx) error {
			next = ""
			kvs, more, err := t.scan(from, end, maxOps)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				k := string(kv.Key)
				nv, err := db.reseal(table, k[len(p):], kv.Value)
				if err != nil {
					return err
				}
				if nv != nil {
					t.reads[k] = kv.ModRevision
					t.put(k, nv)
				}
			}
			if more && len(kvs) > 0 {
				next = string(kvs[len(kvs)-1].Key) + "\x00"
			}
			return nil
		})
		if err != nil || next == "" {
			return err
		}
		from = next
	}
}

// again seals a secret anew under the current key, proving that it opens
// to the same secret.
func (db *DB) again(kind, identity string, v []byte) ([]byte, error) {
	return seal.Reseal(db.keys.Open, db.keys)(kind, identity, v)
}

// reseal is a record with its secret sealed under the current key, or nil
// if it already is (or has none).
func (db *DB) reseal(table, id string, v []byte) ([]byte, error) {
	again := db.again
	switch table {
	case tCerts:
		var c storage.Certificate
		if err := codec.Decode(v, &c); err != nil {
			return nil, err
		}
		if c.KeyPKCS8 == nil || db.keys.IsCurrent(c.KeyPKCS8) {
			return nil, nil
		}
		ident := seal.CertificateIdentity(new(big.Int).SetBytes([]byte(id)))
		k, err := again(seal.CertificateKey, ident, c.KeyPKCS8)
		if err != nil {
			return nil, err
		}
		c.KeyPKCS8 = k
		return codec.Encode(&c)
	case tRoots:
		var r storage.Root
		if err := codec.Decode(v, &r); err != nil {
			return nil, err
		}
		if r.KeyPKCS8 == nil || db.keys.IsCurrent(r.KeyPKCS8) {
			return nil, nil
		}
		k, err := again(seal.CAKey, r.Fingerprint, r.KeyPKCS8)
		if err != nil {
			return nil, err
		}
		r.KeyPKCS8 = k
		return codec.Encode(r)
	case tEAB:
		var e storage.ACMEEAB
		if err := codec.Decode(v, &e); err != nil {
			return nil, err
		}
		if len(e.Key) == 0 || db.keys.IsCurrent(e.Key) {
			return nil, nil
		}
		k, err := again(seal.EABKey, e.ID, e.Key)
		if err != nil {
			return nil, err
		}
		e.Key = k
		return codec.Encode(e)
	}
	return nil, fmt.Errorf("table %s holds no secrets", table)
}

// KeyFile is the key file that seals the store's secrets.
func (db *DB) KeyFile() string { return db.keyPath }

var _ storage.Rekeyer = (*DB)(nil)
