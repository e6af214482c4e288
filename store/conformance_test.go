package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"certmaker/storage/storagetest"
	"certmaker/store"
)

// bboltPlace is a database file in t.TempDir() for the conformance suite.
func bboltPlace(t *testing.T) storagetest.Place {
	path := filepath.Join(t.TempDir(), "ca.db")
	return storagetest.Place{
		Open: func(keyFile string) (storagetest.Store, error) {
			db, err := store.Open(path, store.Options{Timeout: time.Second, KeyFile: keyFile})
			if err != nil {
				return nil, err
			}
			return db, nil
		},
		Raw: func() ([]byte, error) { return os.ReadFile(path) },
	}
}

// The bbolt store keeps storage.Store's contract. Group commit reruns the
// functions of a batch when one of its calls fails.
func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Backend{New: bboltPlace, Reruns: true})
}
