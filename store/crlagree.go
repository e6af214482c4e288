package store

import (
	"sync"
	"time"

	"certmaker/storage"
)

// agreedCRLs are the CRLs this process agreed to sign, by root: the file
// has one process, so the agreement lives in memory and only the number
// is durable (NextCRLNumber).
type agreedCRLs struct {
	mu     sync.Mutex
	byRoot map[string]storage.AgreedCRL
}

// CRLState is the root's revocation generation and the CRL agreed for it.
func (db *DB) CRLState(root string) (uint64, storage.AgreedCRL, error) {
	gen, err := db.RevocationGeneration(root)
	if err != nil {
		return 0, storage.AgreedCRL{}, err
	}
	db.crls.mu.Lock()
	defer db.crls.mu.Unlock()
	return gen, db.crls.byRoot[root], nil
}

// AgreeCRL agrees on the root's next CRL unless the one agreed changed
// since seen.
func (db *DB) AgreeCRL(root string, seen, gen uint64, thisUpdate time.Time) (storage.AgreedCRL, error) {
	db.crls.mu.Lock()
	defer db.crls.mu.Unlock()
	if cur := db.crls.byRoot[root]; cur.Number != seen {
		return cur, nil
	}
	n, err := db.NextCRLNumber(root)
	if err != nil {
		return storage.AgreedCRL{}, err
	}
	a := storage.AgreedCRL{Number: n, Gen: gen, ThisUpdate: thisUpdate.UTC()}
	if db.crls.byRoot == nil {
		db.crls.byRoot = map[string]storage.AgreedCRL{}
	}
	db.crls.byRoot[root] = a
	return a, nil
}
