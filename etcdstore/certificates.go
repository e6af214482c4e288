package etcdstore

import (
	"bytes"
	"fmt"
	"math/big"

	"certmaker/storage"
	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// certWrite is a certificate ready to be written: its record sealed and
// encoded once (so that every run of a transaction writes the same bytes)
// and its name index keys.
type certWrite struct {
	c      *storage.Certificate
	key    string
	value  []byte
	sealed []byte // the sealed key in value, nil for none
	names  []string
	// written is how many names the first transaction took.
	written int
}

func (db *DB) newCertWrite(c *storage.Certificate) (*certWrite, error) {
	if c.Serial == nil || c.Serial.Sign() <= 0 {
		return nil, fmt.Errorf("certificate serial must be positive")
	}
	w := &certWrite{c: c, key: db.key(tCerts, serialKey(c.Serial)), names: db.nameKeys(c)}
	return w, w.seal(db)
}

// seal seals and encodes the record under the node's current key.
func (w *certWrite) seal(db *DB) error {
	sc := *w.c
	if err := seal.Certificate(db.keys.Seal, &sc); err != nil {
		return err
	}
	if w.c.KeyPKCS8 != nil {
		w.sealed = sc.KeyPKCS8
	}
	v, err := codec.Encode(&sc)
	w.value = v
	return err
}

// nameKeys are a certificate's name index keys, everyone's and its owner's.
func (db *DB) nameKeys(c *storage.Certificate) []string {
	var out []string
	for _, scope := range [2]string{"", c.Owner} {
		for _, name := range c.Names {
			if rev := storage.ReverseName(name); rev != "" {
				out = append(out, db.key(tByName, nameKey(scope, rev, c)))
			}
		}
	}
	return out
}

// write adds the record and its indexes to t, after what the caller wrote:
// every index, and as many name entries as fit in the transaction; if not
// all do, a pending marker that finish (or a node's repair) removes once
// the rest are written. done says the record is already stored with these
// very bytes: a commit whose answer was lost, run again.
func (w *certWrite) write(t *tx) (done bool, err error) {
	if w.sealed != nil {
		// Sealed under the key of the store's check value (rekeyed.go),
		// sealed anew if this node has taken a new key since.
		if err := t.sealedNow(); err != nil {
			return false, err
		}
		if !t.db.keys.IsCurrent(w.sealed) {
			if err := w.seal(t.db); err != nil {
				return false, err
			}
		}
	}
	vs, err := t.getAll([]string{w.key, t.db.key(tMeta, kActiveRoot)})
	if err != nil {
		return false, err
	}
	if old := vs[0]; old != nil {
		if bytes.Equal(old, w.value) {
			return true, nil
		}
		return false, fmt.Errorf("certificate %s: %w", w.c.Serial, storage.ErrExists)
	}
	if err := t.fromActive(w.c, vs[1]); err != nil {
		return false, err
	}
	if err := w.put(t); err != nil {
		return false, err
	}
	db, c := t.db, w.c
	room := maxOps - len(t.ops)
	if len(w.names) > room {
		room-- // the marker
		t.put(db.key(tPending, serialKey(c.Serial)), nil)
	}
	w.written = min(room, len(w.names))
	for _, k := range w.names[:w.written] {
		t.put(k, nil)
	}
	return false, nil
}

// put adds the record and every index but its names to t.
func (w *certWrite) put(t *tx) error {
	db, c := t.db, w.c
	t.put(w.key, w.value)
	nk := newestKey(c.Created, c.Serial)
	t.put(db.key(tOwnerCerts, scoped(c.Owner, nk)), nil)
	t.put(db.key(tByCreated, nk), nil)
	if c.Revoked {
		return indexRevoked(t, c)
	}
	indexUnrevoked(t, c, true)
	return nil
}

// finish writes the name entries write left out, and removes the marker.
// Each entry is the same whoever writes it, so the writer and a repair
// pass may both do it.
func (db *DB) finishNames(c *storage.Certificate, names []string) error {
	for len(names) > 0 {
		n := min(len(names), maxOps-1)
		chunk, last := names[:n], n == len(names)
		_, err := db.update(func(t *tx) error {
			for _, k := range chunk {
				t.put(k, nil)
			}
			if last {
				t.del(db.key(tPending, serialKey(c.Serial)))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("certificate %s: writing its name index: %w", c.Serial, err)
		}
		names = names[n:]
	}
	return nil
}

// rest is what write left for finishNames.
func (w *certWrite) rest() []string { return w.names[w.written:] }

// indexUnrevoked adds (add) or removes a certificate's expiry entries.
func indexUnrevoked(t *tx, c *storage.Certificate, add bool) {
	ek := ascKey(c.NotAfter, c.Serial)
	for _, k := range []string{t.db.key(tByExpiry, ek), t.db.key(tOwnerExpiry, scoped(c.Owner, ek))} {
		if add {
			t.put(k, nil)
		} else {
			t.del(k)
		}
	}
}

// indexRevoked adds a revoked certificate to the revoked indexes and its
// root's CRL entries, which the revocation generation counts.
func indexRevoked(t *tx, c *storage.Certificate) error {
	db := t.db
	nk := newestKey(c.Created, c.Serial)
	t.put(db.key(tByRevoked, scoped("", nk)), nil)
	t.put(db.key(tByRevoked, scoped(c.Owner, nk)), nil)
	rv, err := codec.Encode(storage.Revocation{At: c.RevokedAt, Reason: c.Reason})
	if err != nil {
		return err
	}
	t.put(db.key(tCRL, scoped(c.Root, ascKey(c.NotAfter, c.Serial))), rv)
	return nil
}

// PutCertificate stores a new certificate once etcd has committed it:
// its record and indexes in one transaction, and for a certificate with
// more names than fit in it, the rest of its name entries after.
func (db *DB) PutCertificate(c *storage.Certificate) error {
	w, err := db.newCertWrite(c)
	if err != nil {
		return err
	}
	var rest []string
	_, err = db.update(func(t *tx) error {
		done, err := w.write(t)
		if done {
			rest = w.names // the lost answer's: maybe not finished
		} else {
			rest = w.rest()
		}
		return err
	})
	if err != nil {
		return err
	}
	return db.finishNames(c, rest)
}

// Certificate reads one certificate, its key opened.
func (db *DB) Certificate(serial *big.Int) (storage.Certificate, error) {
	var c storage.Certificate
	err := db.view(func(t *tx) error { return getCertificate(t, serial, &c) })
	if err != nil {
		return storage.Certificate{}, err
	}
	return c, db.openCertificate(&c)
}

// getCertificate reads a certificate as stored, its key sealed.
func getCertificate(t *tx, serial *big.Int, c *storage.Certificate) error {
	if serial == nil || serial.Sign() <= 0 {
		return fmt.Errorf("certificate %v: %w", serial, storage.ErrNotFound)
	}
	v, err := t.get(t.db.key(tCerts, serialKey(serial)))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("certificate %s: %w", serial, storage.ErrNotFound)
	}
	return decodeCertificate(v, serial, c)
}

func decodeCertificate(v []byte, serial *big.Int, c *storage.Certificate) error {
	*c = storage.Certificate{}
	if err := codec.Decode(v, c); err != nil {
		return fmt.Errorf("certificate %s: %w", serial, err)
	}
	c.Serial = new(big.Int).Set(serial)
	return nil
}

func (db *DB) openCertificate(c *storage.Certificate) error {
	return seal.Certificate(db.open, c)
}

// CertificateStatus reads what an OCSP answer needs; a linearizable read,
// so a revocation through any node is in the next answer.
func (db *DB) CertificateStatus(serial *big.Int) (storage.CertificateStatus, error) {
	var c storage.Certificate
	if err := db.view(func(t *tx) error { return getCertificate(t, serial, &c) }); err != nil {
		return storage.CertificateStatus{}, err
	}
	return storage.CertificateStatus{Root: c.Root, Revoked: c.Revoked, RevokedAt: c.RevokedAt, Reason: c.Reason}, nil
}
