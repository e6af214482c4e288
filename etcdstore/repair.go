package etcdstore

import (
	"fmt"
	"math/big"

	"certmaker/storage"
)

// resume finishes what a node that crashed left half done: the name
// entries of certificates still marked pending, and a rekey. Every step
// is idempotent, so nodes starting together may all do it.
func (db *DB) resume() error {
	if _, err := db.Repair(); err != nil {
		return err
	}
	return db.resumeRekey()
}

// Repair writes the missing name entries of every certificate marked
// pending and returns how many it completed. A writer that is still at
// work and a repair write the same keys; either removes the marker last.
// Every node runs it at start, and one node at a time once a minute
// (core.RepairIndexes), so a writer that failed between its transactions
// leaves nothing unfinished for long.
func (db *DB) Repair() (int, error) {
	var serials []*big.Int
	err := db.view(func(t *tx) error {
		p := db.key(tPending, "")
		return t.each(p, prefixEnd(p), func(k string, _ []byte) error {
			serials = append(serials, new(big.Int).SetBytes([]byte(k[len(p):])))
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("finding certificates with unfinished indexes: %w", err)
	}
	for _, s := range serials {
		var c storage.Certificate
		err := db.view(func(t *tx) error { return getCertificate(t, s, &c) })
		if err != nil {
			return 0, fmt.Errorf("finishing the indexes of certificate %s: %w", s, err)
		}
		if err := db.finishNames(&c, db.nameKeys(&c)); err != nil {
			return 0, err
		}
	}
	return len(serials), nil
}
