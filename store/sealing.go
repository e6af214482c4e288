package store

import (
	"bytes"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

var (
	keySealCheck = []byte("seal_check")
	// keyRewrite marks a file whose freed pages may still hold secrets
	// sealed with a replaced key: the next Open rewrites it.
	keyRewrite = []byte("rewrite_pending")
)

// certIdentity is what a certificate's key is sealed to: its serial.
func certIdentity(serial *big.Int) string { return serial.Text(16) }

// sealedCertificate is c with its key sealed, for writing; c is left as it
// was. db.seal.mu is held for reading.
func (db *DB) sealedCertificate(c *Certificate) (*Certificate, error) {
	if c.KeyPKCS8 == nil {
		return c, nil
	}
	if c.Serial == nil || c.Serial.Sign() <= 0 {
		return nil, fmt.Errorf("certificate serial must be positive")
	}
	k, err := db.seal.seal(sealCert, certIdentity(c.Serial), c.KeyPKCS8)
	if err != nil {
		return nil, err
	}
	cc := *c
	cc.KeyPKCS8 = k
	return &cc, nil
}

// openCertificate opens the key of a certificate read from the file.
func (db *DB) openCertificate(c *Certificate) error {
	if c.KeyPKCS8 == nil {
		return nil
	}
	k, err := db.seal.open(sealCert, certIdentity(c.Serial), c.KeyPKCS8)
	if err != nil {
		return err
	}
	c.KeyPKCS8 = k
	return nil
}

func (db *DB) openCertificates(cs []Certificate) error {
	for i := range cs {
		if err := db.openCertificate(&cs[i]); err != nil {
			return err
		}
	}
	return nil
}

// transform turns one secret into another form: plain to sealed when a
// file is first sealed, sealed under one key to sealed under another on a
// rekey.
type transform func(kind, identity string, v []byte) ([]byte, error)

// resealAll passes every secret in the file through t and writes the check
// value with seal, all in tx; then it proves that check opens each new
// value to what t was given, so that a file is never committed with a
// secret it cannot give back.
func resealAll(tx *bolt.Tx, t transform, seal func(kind, identity string, plain []byte) ([]byte, error), open transform, before transform) error {
	check := func(kind, id string, old, sealed []byte) error {
		want, err := before(kind, id, old)
		if err != nil {
			return err
		}
		got, err := open(kind, id, sealed)
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s %s: the sealed value does not open to the original (%v)", kind, id, err)
		}
		return nil
	}
	// Certificates: the keys first, since a write while iterating would
	// move the cursor.
	certs := tx.Bucket(bucketCerts)
	var keys [][]byte
	err := certs.ForEach(func(k, v []byte) error {
		var c Certificate
		if err := decode(v, &c); err != nil {
			return fmt.Errorf("certificate %x: %w", k, err)
		}
		if c.KeyPKCS8 != nil {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		c := Certificate{Serial: new(big.Int).SetBytes(k)}
		if err := decode(certs.Get(k), &c); err != nil {
			return err
		}
		id := certIdentity(c.Serial)
		old := c.KeyPKCS8
		if c.KeyPKCS8, err = t(sealCert, id, old); err != nil {
			return err
		}
		if err := check(sealCert, id, old, c.KeyPKCS8); err != nil {
			return err
		}
		if err := certs.Put(k, encodeCertificate(&c)); err != nil {
			return err
		}
	}

	roots := tx.Bucket(bucketRoots)
	var rs []Root
	if err := roots.ForEach(func(_, v []byte) error {
		var r Root
		if err := decode(v, &r); err != nil {
			return err
		}
		rs = append(rs, r)
		return nil
	}); err != nil {
		return err
	}
	for _, r := range rs {
		if r.KeyPKCS8 == nil {
			continue // an offline root
		}
		old := r.KeyPKCS8
		if r.KeyPKCS8, err = t(sealRoot, r.Fingerprint, old); err != nil {
			return err
		}
		if err := check(sealRoot, r.Fingerprint, old, r.KeyPKCS8); err != nil {
			return err
		}
		if err := putRecord(tx, bucketRoots, r.Fingerprint, r); err != nil {
			return err
		}
	}

	eab := tx.Bucket(bucketACMEEAB)
	var ks []ACMEEAB
	if err := eab.ForEach(func(_, v []byte) error {
		var k ACMEEAB
		if err := decode(v, &k); err != nil {
			return err
		}
		ks = append(ks, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range ks {
		old := k.Key
		if k.Key, err = t(sealEAB, k.ID, old); err != nil {
			return err
		}
		if err := check(sealEAB, k.ID, old, k.Key); err != nil {
			return err
		}
		if err := putRecord(tx, bucketACMEEAB, k.ID, k); err != nil {
			return err
		}
	}

	meta := tx.Bucket(bucketACMEMeta)
	if v := meta.Get(keyACMENonceKey); v != nil {
		old := bytes.Clone(v)
		nv, err := t(sealNonce, "", old)
		if err != nil {
			return err
		}
		if err := check(sealNonce, "", old, nv); err != nil {
			return err
		}
		if err := meta.Put(keyACMENonceKey, nv); err != nil {
			return err
		}
	}
	cv, err := seal(sealCheck, "", sealCheckPlain)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keySealCheck, cv)
}

// plain is the transform of a value that is not sealed yet.
func plain(_, _ string, v []byte) ([]byte, error) { return v, nil }

// Rekey seals every secret in the file under a new key, and replaces the
// key file with it: for when the key file may have leaked (with or without
// a backup). The new key is written beside the old one first, the file is
// re-sealed in one transaction, and then the new key takes the old one's
// place; Open finishes a rekey that a crash interrupted between the two.
// The pages the old values were in are free but not erased: the next Open
// rewrites the file without them.
func (db *DB) Rekey() error {
	if db.keyPath == "" {
		return fmt.Errorf("rekey: the database was opened without a key file")
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	next, err := newSealer(key)
	if err != nil {
		return err
	}
	pending := pendingKeyFile(db.keyPath)
	if err := os.Remove(pending); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing a stale %s: %w", pending, err)
	}
	if err := writeKeyFile(pending, key); err != nil {
		return err
	}
	db.seal.mu.Lock()
	defer db.seal.mu.Unlock()
	reseal := func(kind, id string, v []byte) ([]byte, error) {
		p, err := db.seal.open(kind, id, v)
		if err != nil {
			return nil, err
		}
		return next.seal(kind, id, p)
	}
	resealed := false // the transaction's work is done; only its commit remains
	err = db.update(func(tx *bolt.Tx) error {
		resealed = false
		if err := resealAll(tx, reseal, next.seal, next.open, db.seal.open); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keyRewrite, []byte{1}); err != nil {
			return err
		}
		resealed = true
		return nil
	})
	if err != nil {
		if resealed {
			// The commit itself failed: the new state may be on disk, so
			// the new key must not be thrown away. The next Open keeps
			// whichever key opens the file (loadSealKey).
			return fmt.Errorf("rekeying %s: the commit failed, and whether it reached the disk is unknown (the next start settles it from %s): %w", db.path, pending, err)
		}
		os.Remove(pending)
		return fmt.Errorf("rekeying %s: %w", db.path, err)
	}
	// Committed: from now on everything is sealed with the new key,
	// whatever happens to the key files below. Readers of a snapshot from
	// before keep opening with the old key.
	if err := db.seal.use(key); err != nil {
		return err
	}
	if err := os.Rename(pending, db.keyPath); err != nil {
		return fmt.Errorf("rekey committed, but replacing %s failed (the next start finishes it from %s): %w", db.keyPath, pending, err)
	}
	return syncDir(filepath.Dir(db.keyPath))
}

// KeyFile is the path of the key file that seals the database's secrets.
func (db *DB) KeyFile() string { return db.keyPath }
