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

// A rekey seals every secret under a new key, a page at a time, then the
// check value, which says which key file opens the store, then every
// secret again that another node sealed under the old key before it saw
// the new check value (from then on none can: rekeyed.go). The new key is
// written beside the key file first (seal.StagedKeyFile) and replaces it
// at the end; meta/rekey marks a rekey under way, so that the node
// holding the staged key file goes on where a crash stopped it, with both
// keys. Every other node needs the new key file afterwards: until an
// operator copies it there, it refuses to write or read secrets and says
// so once in its log (docs/cluster.md).

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
		seal.DropStagedKey(db.keyPath)
		return fmt.Errorf("rekey: %w", err)
	}
	return db.rekeyWith(key)
}

// rekeyMarked reads whether meta/rekey says a rekey is under way.
func (db *DB) rekeyMarked() (bool, error) {
	var marked []byte
	err := db.view(func(t *tx) error {
		var err error
		marked, err = t.get(db.key(tMeta, kRekey))
		return err
	})
	return marked != nil, err
}

// resumeRekey finishes a rekey that meta/rekey says is under way, when
// this node holds its staged key file.
func (db *DB) resumeRekey() error {
	if marked, err := db.rekeyMarked(); err != nil || !marked {
		return err
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
	next, err := seal.NewKeyring(key)
	if err != nil {
		return err
	}
	// Both keys open from now on; this node seals with the old one until
	// the new check value is committed, as every other node does.
	if err := db.keys.Add(key); err != nil {
		return err
	}
	if err := db.resealAll(next); err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	cv, err := next.CheckValue()
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		k := db.key(tMeta, kNonceKey)
		v, err := t.get(k)
		if err != nil {
			return err
		}
		if v != nil && !next.IsCurrent(v) {
			nv, err := seal.Reseal(db.keys.Open, next)(seal.NonceKey, "", v)
			if err != nil {
				return err
			}
			t.put(k, nv)
		}
		t.put(db.key(tMeta, kSealCheck), cv)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rekey: sealing the check value: %w", err)
	}
	if err := db.keys.Use(key); err != nil {
		return err
	}
	// What the other nodes sealed under the old key until they saw it.
	if err := db.resealAll(next); err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	if _, err := db.update(func(t *tx) error {
		t.del(db.key(tMeta, kRekey))
		return nil
	}); err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	if err := seal.CommitKey(db.keyPath); err != nil {
		return fmt.Errorf("rekey committed, but replacing %s failed (the next start finishes it from %s): %w", db.keyPath, seal.StagedKeyFile(db.keyPath), err)
	}
	return nil
}

// resealAll seals every secret of the store not sealed under next anew.
func (db *DB) resealAll(next *seal.Keyring) error {
	for _, table := range []string{tCerts, tRoots, tEAB} {
		if err := db.resealTable(table, next); err != nil {
			return err
		}
	}
	return nil
}

// resealTable seals anew, a page per transaction, every secret of a table
// not sealed under next.
func (db *DB) resealTable(table string, next *seal.Keyring) error {
	p := db.key(table, "")
	from, end := p, prefixEnd(p)
	for {
		var after string
		_, err := db.update(func(t *tx) error {
			after = ""
			kvs, more, err := t.scan(from, end, maxOps)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				k := string(kv.Key)
				nv, err := db.reseal(table, k[len(p):], kv.Value, next)
				if err != nil {
					return err
				}
				if nv != nil {
					t.reads[k] = kv.ModRevision
					t.put(k, nv)
				}
			}
			if more && len(kvs) > 0 {
				after = string(kvs[len(kvs)-1].Key) + "\x00"
			}
			return nil
		})
		if err != nil || after == "" {
			return err
		}
		from = after
	}
}

// reseal is a record with its secret sealed under next, or nil if it
// already is (or has none).
func (db *DB) reseal(table, id string, v []byte, next *seal.Keyring) ([]byte, error) {
	again := seal.Reseal(db.keys.Open, next)
	switch table {
	case tCerts:
		var c storage.Certificate
		if err := codec.Decode(v, &c); err != nil {
			return nil, err
		}
		if c.KeyPKCS8 == nil || next.IsCurrent(c.KeyPKCS8) {
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
		if r.KeyPKCS8 == nil || next.IsCurrent(r.KeyPKCS8) {
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
		if len(e.Key) == 0 || next.IsCurrent(e.Key) {
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
