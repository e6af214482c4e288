package etcdstore

import (
	"fmt"
	"time"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// The CRL of a root's leaves is agreed in crlnum/<root>: its value is the
// generation and thisUpdate of the CRL every node signs, its number the
// key's ModRevision plus the number a migrated store had reached
// (crlbase/<root>), as NextCRLNumber's. A node whose CRL is not the one
// agreed signs the agreed one (same list, number and thisUpdate); a node
// that finds the agreed one out of date (a revocation since, or half its
// validity gone) agrees a new one, once across the cluster.

// CRLState reads the root's revocation generation and the CRL agreed for
// it at one revision.
func (db *DB) CRLState(root string) (uint64, storage.AgreedCRL, error) {
	var gen uint64
	var a storage.AgreedCRL
	err := db.view(func(t *tx) error {
		var err error
		if gen, err = t.generation(root); err != nil {
			return err
		}
		a, _, err = t.agreedCRL(root)
		return err
	})
	if err != nil {
		return 0, storage.AgreedCRL{}, fmt.Errorf("reading the agreed CRL: %w", err)
	}
	return gen, a, nil
}

// AgreeCRL agrees on the root's next CRL, unless another node agreed one
// since seen: the transaction compares the key it read.
func (db *DB) AgreeCRL(root string, seen, gen uint64, thisUpdate time.Time) (storage.AgreedCRL, error) {
	var a storage.AgreedCRL
	var ours bool
	var base uint64
	rev, err := db.update(func(t *tx) error {
		var err error
		if a, base, err = t.agreedCRL(root); err != nil || a.Number != seen {
			ours = false
			return err
		}
		ours = true
		a = storage.AgreedCRL{Gen: gen, ThisUpdate: thisUpdate.UTC()}
		v, err := codec.Encode(a)
		if err != nil {
			return err
		}
		t.put(db.key(tCRLNumber, root), v)
		return nil
	})
	if err != nil {
		return storage.AgreedCRL{}, fmt.Errorf("agreeing on a CRL: %w", err)
	}
	if ours {
		a.Number = uint64(rev) + base
	}
	return a, nil
}

// agreedCRL reads the CRL agreed for root (zero if none) and the number
// a migration brought. A key NextCRLNumber wrote (a root's own CRL)
// agrees nothing.
func (t *tx) agreedCRL(root string) (a storage.AgreedCRL, base uint64, err error) {
	k := t.db.key(tCRLNumber, root)
	vs, err := t.getAll([]string{k, t.db.key(tCRLBase, root)})
	if err != nil {
		return a, 0, err
	}
	base = baseOf(vs[1])
	if vs[0] == nil {
		return a, base, nil
	}
	if len(vs[0]) > 0 {
		if err := codec.Decode(vs[0], &a); err != nil {
			return a, 0, fmt.Errorf("crl %s: %w", root, err)
		}
	}
	a.Number = uint64(t.reads[k]) + base
	return a, base, nil
}
