package etcdstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// Revoke marks a certificate revoked and moves it from the expiry indexes
// to the revoked ones and its root's CRL, in one transaction; ErrRevoked
// if it already is (the first revocation stands).
func (db *DB) Revoke(serial *big.Int, at time.Time, reason int) (storage.Certificate, error) {
	var c storage.Certificate
	_, err := db.update(func(t *tx) error {
		if err := getCertificate(t, serial, &c); err != nil {
			return err
		}
		if c.Revoked {
			return fmt.Errorf("certificate %s: %w", serial, storage.ErrRevoked)
		}
		c.Revoked, c.RevokedAt, c.Reason = true, at.UTC(), reason
		v, err := codec.Encode(&c)
		if err != nil {
			return err
		}
		t.put(db.key(tCerts, serialKey(serial)), v)
		indexUnrevoked(t, &c, false)
		return indexRevoked(t, &c)
	})
	if err != nil {
		return storage.Certificate{}, err
	}
	return c, db.openCertificate(&c)
}

// Revocations lists a root's revocations of certificates that end after
// now, and the generation they are complete for, at one revision.
func (db *DB) Revocations(root string, now time.Time) (uint64, []storage.Revocation, error) {
	var gen uint64
	var out []storage.Revocation
	err := db.view(func(t *tx) error {
		var err error
		if gen, err = t.generation(root); err != nil {
			return err
		}
		prefix := db.key(tCRL, scoped(root, ""))
		return t.each(prefix+ascKey(now.Add(time.Nanosecond), new(big.Int)), prefixEnd(prefix), func(k string, v []byte) error {
			r := storage.Revocation{Serial: new(big.Int).SetBytes([]byte(k[len(prefix)+8:]))}
			if err := codec.Decode(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return 0, nil, fmt.Errorf("reading revocations: %w", err)
	}
	return gen, out, nil
}

// generation counts the root's CRL entries, which are never removed: the
// revocations ever made under it. etcd counts them in its index (about
// 0.2 µs a key), and no revocation writes a key that another fights over.
func (t *tx) generation(root string) (uint64, error) {
	p := t.db.key(tCRL, scoped(root, ""))
	n, err := t.count(p, prefixEnd(p))
	return uint64(n), err
}

// RevocationGeneration counts the revocations ever made under a root; it
// changes exactly when the root's CRL must.
func (db *DB) RevocationGeneration(root string) (uint64, error) {
	var gen uint64
	err := db.view(func(t *tx) error {
		var err error
		gen, err = t.generation(root)
		return err
	})
	return gen, err
}

// NextCRLNumber writes the root's CRL number key and returns its new
// ModRevision (plus the number a migrated store had reached): numbers
// grow strictly across every node, and no two calls conflict.
func (db *DB) NextCRLNumber(root string) (uint64, error) {
	var n uint64
	err := db.do(func(ctx context.Context) error {
		resp, err := db.cli.Txn(ctx).Then(
			clientv3.OpPut(db.key(tCRLNumber, root), ""),
			clientv3.OpGet(db.key(tCRLBase, root)),
		).Commit()
		if err != nil {
			return err
		}
		n = uint64(resp.Header.Revision) + baseOf(first(resp.Responses[1]))
		return nil
	})
	if err := db.noteWrite(err); err != nil {
		return 0, fmt.Errorf("next CRL number: %w", err)
	}
	return n, nil
}

func baseOf(v []byte) uint64 {
	if len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// each calls fn on every key of [from, end) at the transaction's revision,
// reading them a page at a time.
func (t *tx) each(from, end string, fn func(k string, v []byte) error) error {
	for {
		kvs, more, err := t.scan(from, end, pageSize)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := fn(string(kv.Key), kv.Value); err != nil {
				return err
			}
		}
		if !more || len(kvs) == 0 {
			return nil
		}
		from = string(kvs[len(kvs)-1].Key) + "\x00"
	}
}

// pageSize is how many keys one range request reads.
const pageSize = 500
