package store

import (
	"math/big"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/storagetest"
)

// brokenDB is the bbolt store with one step of Revoke undone: a revoked
// certificate stays in the expiry indexes and its day's counters are not
// decremented, the kind of slip a new backend makes.
type brokenDB struct{ *DB }

func (b brokenDB) Revoke(serial *big.Int, at time.Time, reason int) (Certificate, error) {
	c, err := b.DB.Revoke(serial, at, reason)
	if err != nil {
		return c, err
	}
	return c, b.update(func(tx *bolt.Tx) error { return indexUnrevoked(tx, &c, 1) })
}

// TestConformance_Broken: the suite must catch the slip, where it looks,
// and nowhere else.
func TestConformance_Broken(t *testing.T) {
	storagetest.MustCatch(t, storagetest.Backend{New: brokenPlace, Reruns: true},
		[]string{"Indexes", "Concurrent"}, []string{"Users", "Roots", "ACMEOrders"})
}

func brokenPlace(t *testing.T) storagetest.Place {
	path := filepath.Join(t.TempDir(), "ca.db")
	return storagetest.Place{
		Open: func(keyFile string) (storagetest.Store, error) {
			db, err := Open(path, Options{Timeout: time.Second, KeyFile: keyFile})
			if err != nil {
				return nil, err
			}
			return brokenDB{db}, nil
		},
	}
}
