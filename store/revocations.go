package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
)

// The revoked bucket is keyed root fingerprint + 0 + not-after + serial,
// so one root's revocations are a range, and those of certificates that
// have expired (which a CRL no longer lists) lie before where it starts.
func revokedKey(root string, notAfter time.Time, serial *big.Int) []byte {
	return ownerKey(root, sortKey(notAfter, serial))
}

// Per-root counters in the meta bucket.
func revGenKey(root string) []byte    { return []byte("revgen/" + root) }
func crlNumberKey(root string) []byte { return []byte("crlnum/" + root) }

func getUint(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func bumpUint(b *bolt.Bucket, k []byte) (uint64, error) {
	n := getUint(b, k) + 1
	return n, b.Put(k, binary.BigEndian.AppendUint64(nil, n))
}

// Revoke marks a certificate revoked at the given time for an RFC 5280
// reason code, moves it from the expiry indexes to the revoked ones and
// its root's revocations, counts it and bumps that root's revocation
// generation, all in one durable commit. ErrRevoked if
// it already is revoked (the first revocation stands).
func (db *DB) Revoke(serial *big.Int, at time.Time, reason int) (Certificate, error) {
	var c Certificate
	err := db.group(func(tx *bolt.Tx) error {
		c = Certificate{}
		if err := getCertificate(tx, serial, &c); err != nil {
			return refuse(err)
		}
		if c.Revoked {
			return refuse(fmt.Errorf("certificate %s: %w", serial, ErrRevoked))
		}
		c.Revoked, c.RevokedAt, c.Reason = true, at.UTC(), reason
		v, err := codec.Encode(c)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketCerts).Put(serialKey(serial), v); err != nil {
			return err
		}
		return markRevoked(tx, &c)
	})
	if err == nil {
		err = db.openCertificate(&c)
	}
	return c, err
}

// Revocations lists a root's revoked certificates that end after now and
// the revocation generation they are complete for, from one read
// transaction. Expired ones are not read at all.
func (db *DB) Revocations(root string, now time.Time) (uint64, []Revocation, error) {
	var gen uint64
	var out []Revocation
	err := db.view(func(tx *bolt.Tx) error {
		gen = getUint(tx.Bucket(bucketMeta), revGenKey(root))
		prefix := ownerKey(root, nil)
		cur := tx.Bucket(bucketRevoked).Cursor()
		for k, v := cur.Seek(join(prefix, sortKey(now.Add(time.Nanosecond), new(big.Int)))); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			var r Revocation
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			r.Serial = new(big.Int).SetBytes(k[len(prefix)+8:])
			out = append(out, r)
		}
		return nil
	})
	return gen, out, err
}

// RevocationGeneration counts the revocations ever made under a root; it
// changes exactly when the root's CRL must.
func (db *DB) RevocationGeneration(root string) (uint64, error) {
	var gen uint64
	err := db.view(func(tx *bolt.Tx) error {
		gen = getUint(tx.Bucket(bucketMeta), revGenKey(root))
		return nil
	})
	return gen, err
}

// NextCRLNumber durably increments and returns a root's CRL number, so
// CRL numbers only ever grow, across restarts too.
func (db *DB) NextCRLNumber(root string) (uint64, error) {
	var n uint64
	err := db.update(func(tx *bolt.Tx) error {
		var err error
		n, err = bumpUint(tx.Bucket(bucketMeta), crlNumberKey(root))
		return err
	})
	return n, err
}
