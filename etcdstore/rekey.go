package etcdstore

import (
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"

	"certmaker/storage"
)

// A rekey seals every secret under a new key, a page at a time, and then
// the check value, which is what says which key file opens the store. The
// new key is written beside the key file first (KeyFile + ".new") and
// replaces it once the check value is sealed with it; meta/rekey marks a
// rekey under way, so that a node restarting with the pending file goes
// on where a crash stopped it. Every node needs the new key file
// afterwards (docs/cluster.md).

func pendingKeyFile(path string) string { return path + ".new" }

// Rekey seals every secret under a new key and replaces the key file.
func (db *DB) Rekey() error {
	pending := pendingKeyFile(db.keyPath)
	if err := os.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing a stale %s: %w", pending, err)
	}
	key, err := loadKey(pending, true)
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
	key, err := readKeyFile(pendingKeyFile(db.keyPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another node's rekey: it finishes it
	}
	if err != nil {
		return err
	}
	return db.rekeyWith(key)
}

func (db *DB) rekeyWith(key []byte) error {
	if err := db.seal.use(key); err != nil {
		return err
	}
	cur := keyID(key)
	for _, table := range []string{tCerts, tRoots, tEAB} {
		if err := db.resealTable(table, cur); err != nil {
			return fmt.Errorf("rekey: %w", err)
		}
	}
	cv, err := db.seal.seal(sealCheck, "", sealCheckPlain)
	if err != nil {
		return err
	}
	_, err = db.update(func(t *tx) error {
		k := db.key(tMeta, kNonceKey)
		v, err := t.get(k)
		if err != nil {
			return err
		}
		if v != nil && sealedWith(v) != cur {
			plain, err := db.seal.open(sealNonce, "", v)
			if err != nil {
				return err
			}
			nv, err := db.seal.seal(sealNonce, "", plain)
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
	if err := os.Rename(pendingKeyFile(db.keyPath), db.keyPath); err != nil {
		return fmt.Errorf("rekey committed, but replacing %s failed (move %s there by hand): %w", db.keyPath, pendingKeyFile(db.keyPath), err)
	}
	return nil
}

// resealTable seals anew, a page per transaction, every secret of a table
// not sealed with the key cur.
func (db *DB) resealTable(table string, cur [4]byte) error {
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
				nv, err := db.reseal(table, k[len(p):], kv.Value, cur)
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

// reseal is a record with its secret sealed under the current key, or nil
// if it already is (or has none).
func (db *DB) reseal(table, id string, v []byte, cur [4]byte) ([]byte, error) {
	again := func(kind, ident string, secret []byte) ([]byte, error) {
		plain, err := db.seal.open(kind, ident, secret)
		if err != nil {
			return nil, err
		}
		return db.seal.seal(kind, ident, plain)
	}
	switch table {
	case tCerts:
		var c storage.Certificate
		if err := decode(v, &c); err != nil {
			return nil, err
		}
		if c.KeyPKCS8 == nil || sealedWith(c.KeyPKCS8) == cur {
			return nil, nil
		}
		ident := new(big.Int).SetBytes([]byte(id)).Text(16)
		k, err := again(sealCert, ident, c.KeyPKCS8)
		if err != nil {
			return nil, err
		}
		c.KeyPKCS8 = k
		return encode(&c)
	case tRoots:
		var r storage.Root
		if err := decode(v, &r); err != nil {
			return nil, err
		}
		if r.KeyPKCS8 == nil || sealedWith(r.KeyPKCS8) == cur {
			return nil, nil
		}
		k, err := again(sealRoot, r.Fingerprint, r.KeyPKCS8)
		if err != nil {
			return nil, err
		}
		r.KeyPKCS8 = k
		return encode(r)
	case tEAB:
		var e storage.ACMEEAB
		if err := decode(v, &e); err != nil {
			return nil, err
		}
		if len(e.Key) == 0 || sealedWith(e.Key) == cur {
			return nil, nil
		}
		k, err := again(sealEAB, e.ID, e.Key)
		if err != nil {
			return nil, err
		}
		e.Key = k
		return encode(e)
	}
	return nil, fmt.Errorf("table %s holds no secrets", table)
}

// KeyFile is the key file that seals the store's secrets.
func (db *DB) KeyFile() string { return db.keyPath }

var _ storage.Rekeyer = (*DB)(nil)
