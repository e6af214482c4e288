package store

import (
	"bytes"
	"fmt"
	"math/big"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// Every private key and secret in the file is sealed (storage/seal): a
// stolen file or backup reveals no key.

var (
	keySealCheck = []byte("seal_check")
	// keyRewrite marks a file whose freed pages may still hold secrets
	// in clear or sealed with a replaced key, committed with the change
	// that freed them: scrub erases them and removes it, or else the next
	// Open does.
	keyRewrite = []byte("rewrite_pending")
)

// sealedCertificate is c with its key sealed, for writing; c is left as it
// was. db.rekeying is held for reading.
func (db *DB) sealedCertificate(c *Certificate) (*Certificate, error) {
	if c.KeyPKCS8 == nil {
		return c, nil
	}
	cc := *c
	if err := seal.Certificate(db.keys.Seal, &cc); err != nil {
		return nil, err
	}
	return &cc, nil
}

// openCertificate opens the key of a certificate read from the file.
func (db *DB) openCertificate(c *Certificate) error {
	return seal.Certificate(db.keys.Open, c)
}

func (db *DB) openCertificates(cs []Certificate) error {
	for i := range cs {
		if err := db.openCertificate(&cs[i]); err != nil {
			return err
		}
	}
	return nil
}

// resealAll passes every secret in the file through t (seal.Reseal, which
// proves each new value opens to the old secret) and writes next's check
// value, all in tx.
func resealAll(tx *bolt.Tx, t seal.Transform, next *seal.Keyring) error {
	// Certificates: the keys first, since a write while iterating would
	// move the cursor.
	certs := tx.Bucket(bucketCerts)
	var keys [][]byte
	err := certs.ForEach(func(k, v []byte) error {
		var c Certificate
		if err := codec.Decode(v, &c); err != nil {
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
		if err := codec.Decode(certs.Get(k), &c); err != nil {
			return err
		}
		if c.KeyPKCS8, err = t(seal.CertificateKey, seal.CertificateIdentity(c.Serial), c.KeyPKCS8); err != nil {
			return err
		}
		if err := certs.Put(k, codec.EncodeCertificate(&c)); err != nil {
			return err
		}
	}

	roots := tx.Bucket(bucketRoots)
	var rs []Root
	if err := roots.ForEach(func(_, v []byte) error {
		var r Root
		if err := codec.Decode(v, &r); err != nil {
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
		if r.KeyPKCS8, err = t(seal.CAKey, r.Fingerprint, r.KeyPKCS8); err != nil {
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
		if err := codec.Decode(v, &k); err != nil {
			return err
		}
		ks = append(ks, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range ks {
		if k.Key, err = t(seal.EABKey, k.ID, k.Key); err != nil {
			return err
		}
		if err := putRecord(tx, bucketACMEEAB, k.ID, k); err != nil {
			return err
		}
	}

	meta := tx.Bucket(bucketACMEMeta)
	if v := meta.Get(keyACMENonceKey); v != nil {
		nv, err := t(seal.NonceKey, "", bytes.Clone(v))
		if err != nil {
			return err
		}
		if err := meta.Put(keyACMENonceKey, nv); err != nil {
			return err
		}
	}
	cv, err := next.CheckValue()
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keySealCheck, cv)
}

// Rekey seals every secret in the file under a new key, and replaces the
// key file with it: for when the key file may have leaked (with or without
// a backup). The new key is written beside the old one first, the file is
// re-sealed in one transaction, and then the new key takes the old one's
// place; Open finishes a rekey that a crash interrupted between the two.
// Then the pages the old values were in are erased (scrub), while the
// server runs: nothing in the file opens with the old key any more.
func (db *DB) Rekey() error {
	if db.keyPath == "" {
		return fmt.Errorf("rekey: the database was opened without a key file")
	}
	key, err := seal.StageKey(db.keyPath)
	if err != nil {
		return err
	}
	next, err := seal.NewKeyring(key)
	if err != nil {
		seal.DropStagedKey(db.keyPath)
		return err
	}
	// Readers do not wait for the rekey: one that sees the commit before
	// the new key is in use must open its values already.
	if err := db.keys.Add(key); err != nil {
		seal.DropStagedKey(db.keyPath)
		return err
	}
	db.rekeying.Lock()
	defer db.rekeying.Unlock()
	resealed := false // the transaction's work is done; only its commit remains
	err = db.update(func(tx *bolt.Tx) error {
		resealed = false
		if err := resealAll(tx, seal.Reseal(db.keys.Open, next), next); err != nil {
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
			// whichever key opens the file (seal.LoadKey).
			return fmt.Errorf("rekeying %s: the commit failed, and whether it reached the disk is unknown (the next start settles it from %s): %w", db.path, seal.StagedKeyFile(db.keyPath), err)
		}
		seal.DropStagedKey(db.keyPath)
		return fmt.Errorf("rekeying %s: %w", db.path, err)
	}
	// Committed: from now on everything is sealed with the new key,
	// whatever happens to the key files below. Readers of a snapshot from
	// before keep opening with the old key.
	if err := db.keys.Use(key); err != nil {
		return err
	}
	if err := seal.CommitKey(db.keyPath); err != nil {
		return fmt.Errorf("rekey committed, but replacing %s failed (the next start finishes it from %s): %w", db.keyPath, seal.StagedKeyFile(db.keyPath), err)
	}
	// The old values are in freed pages now, which the old key opens.
	if err := db.scrub(); err != nil {
		return fmt.Errorf("rekey committed, but %w (the next start erases them)", err)
	}
	return nil
}

// KeyFile is the path of the key file that seals the database's secrets.
func (db *DB) KeyFile() string { return db.keyPath }
