package store

import (
	"fmt"
	"math/big"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// serialKey is the big-endian serial; positive serials never collide this way.
func serialKey(s *big.Int) []byte { return s.Bytes() }

// serialKeyIn is serialKey written into buf when it fits there, which keeps
// a lookup's key off the heap.
func serialKeyIn(buf []byte, s *big.Int) []byte {
	if n := (s.BitLen() + 7) / 8; n <= len(buf) {
		return s.FillBytes(buf[:n])
	}
	return serialKey(s)
}

// PutCertificate durably stores a new certificate and its owner index entry.
// Concurrent callers share one commit (group.go); each returns only after
// the commit that holds its certificate is on disk.
func (db *DB) PutCertificate(c *Certificate) error {
	db.rekeying.RLock()
	defer db.rekeying.RUnlock()
	sc, err := db.sealedCertificate(c)
	if err != nil {
		return err
	}
	v, err := codec.Encode(sc)
	if err != nil {
		return err
	}
	return db.group(func(tx *bolt.Tx) error {
		return putCertificate(tx, c, v)
	})
}

func putCertificate(tx *bolt.Tx, c *Certificate, v []byte) error {
	if c.Serial == nil || c.Serial.Sign() <= 0 {
		return fmt.Errorf("certificate serial must be positive")
	}
	certs := tx.Bucket(bucketCerts)
	certs.FillPercent = appendFill
	k := serialKey(c.Serial)
	if certs.Get(k) != nil {
		return fmt.Errorf("certificate %s: %w", c.Serial, ErrExists)
	}
	if err := certs.Put(k, v); err != nil {
		return err
	}
	return indexCertificate(tx, c)
}

// Certificate reads one certificate by serial, its key opened.
func (db *DB) Certificate(serial *big.Int) (Certificate, error) {
	var c Certificate
	err := db.view(func(tx *bolt.Tx) error {
		return getCertificate(tx, serial, &c)
	})
	if err == nil {
		err = db.openCertificate(&c)
	}
	return c, err
}

// getCertificate reads a certificate as stored: its key still sealed.
func getCertificate(tx *bolt.Tx, serial *big.Int, c *Certificate) error {
	v, err := certificateRecord(tx, serial)
	if err != nil {
		return err
	}
	if err := codec.Decode(v, c); err != nil {
		return err
	}
	c.Serial = new(big.Int).Set(serial)
	return nil
}

// certificateRecord is the stored value of one certificate, valid only
// inside tx.
func certificateRecord(tx *bolt.Tx, serial *big.Int) ([]byte, error) {
	if serial == nil || serial.Sign() <= 0 {
		return nil, fmt.Errorf("certificate %v: %w", serial, ErrNotFound)
	}
	var buf [32]byte
	v := tx.Bucket(bucketCerts).Get(serialKeyIn(buf[:], serial))
	if v == nil {
		return nil, fmt.Errorf("certificate %s: %w", serial, ErrNotFound)
	}
	return v, nil
}

// CertificateStatus reads what an OCSP answer needs of one certificate:
// its root and revocation, decoding nothing else (no DER, key or names),
// since the responder asks on every request. ErrNotFound as Certificate.
// A revocation is seen by the first call after Revoke returns.
func (db *DB) CertificateStatus(serial *big.Int) (CertificateStatus, error) {
	var st CertificateStatus
	err := db.view(func(tx *bolt.Tx) error {
		v, err := certificateRecord(tx, serial)
		if err != nil {
			return err
		}
		return codec.DecodeStatus(v, &st)
	})
	return st, err
}
