package store

import (
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestConformance_Broken runs the conformance suite against brokenDB in a
// child process (its failures must not fail this test) and requires that
// the suite catches the slip, where it looks, and nowhere else.
func TestConformance_Broken(t *testing.T) {
	if os.Getenv("CERTMAKER_BROKEN_STORE") == "1" {
		storagetest.Run(t, storagetest.Backend{New: brokenPlace, Reruns: true})
		return
	}
	if testing.Short() {
		t.Skip("runs the whole suite again")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformance_Broken$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "CERTMAKER_BROKEN_STORE=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a store that keeps revoked certificates in the expiry index and counters:\n%s", out)
	}
	for _, part := range []string{"Indexes", "Concurrent"} {
		if !strings.Contains(string(out), "--- FAIL: TestConformance_Broken/"+part) {
			t.Errorf("the suite's %s part did not fail on the broken store:\n%s", part, out)
		}
	}
	for _, part := range []string{"Users", "Roots", "ACMEOrders"} {
		if !strings.Contains(string(out), "--- PASS: TestConformance_Broken/"+part) {
			t.Errorf("the suite's %s part, which Revoke does not touch, did not pass:\n%s", part, out)
		}
	}
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
