package store

import (
	"path/filepath"
	"testing"
	"time"
)

// TestOpen_Durable: the handle Open returns fsyncs every commit (NoSync,
// NoGrowSync false) and writes the freelist with it (NoFreelistSync false:
// Open's check reads that page, and a restart after a crash needs no scan
// of the whole file). Nothing else would notice NoSync: every test passes
// without it until the machine loses power.
func TestOpen_Durable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	for _, stage := range []string{"new file", "reopened"} {
		db, err := Open(path, Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		b := db.bolt
		if b.NoSync || b.NoGrowSync || b.NoFreelistSync {
			t.Errorf("%s: NoSync %v, NoGrowSync %v, NoFreelistSync %v; want all false", stage, b.NoSync, b.NoGrowSync, b.NoFreelistSync)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
