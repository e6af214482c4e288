package store_test

import (
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/storagetest"
	"certmaker/store"
)

// A file of the previous schema (4: no name, revoked-by-age or per-owner
// expiry index, no counters, revocations keyed by serial) is migrated on
// open: every index and counter rebuilt from the records.
func TestOpen_MigratesSchema4RebuildingIndexes(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(4, 19))
	db := mustOpen(t)
	m := &storagetest.Model{Now: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)}
	m.Fill(t, db, rng, 300)
	path := db.Path()
	closeChecked(t, db)

	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, name := range []string{"by_name", "by_revoked", "owner_expiry", "counts"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return fmt.Errorf("deleting %s: %w", name, err)
			}
		}
		// Schema 4 keyed revocations root + 0 + serial.
		if err := tx.DeleteBucket([]byte("revoked")); err != nil {
			return err
		}
		rb, err := tx.CreateBucket([]byte("revoked"))
		if err != nil {
			return err
		}
		for _, c := range m.Certificates() {
			if c.Revoked {
				k := append([]byte(c.Root+"\x00"), c.Serial.Bytes()...)
				if err := rb.Put(k, []byte(`{"v":1,"r":{"at":"2026-01-01T00:00:00Z","reason":4}}`)); err != nil {
					return err
				}
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 4))
	})

	db = mustOpenPath(t, path)
	closeChecked(t, db)
	if v, _ := boltSchema(t, path); v != store.SchemaVersion {
		t.Errorf("schema after migration = %d, want %d", v, store.SchemaVersion)
	}
	db = mustOpenPath(t, path)
	m.Check(t, db, rng)
	m.Fill(t, db, rng, 50)
	m.Check(t, db, rng)
}

// On a store larger than one listing may read, a name nobody has and
// revoked certificates of a user with none answer at once, empty and
// without a cursor: they read an index, not the records.
func TestDB_ListCertificates_IndexAnswersEmpty(t *testing.T) {
	db := mustOpen(t)
	fillMany(t, db, store.MaxScan+10, "alice")
	for _, q := range []store.ListQuery{
		{Name: "nowhere.home.lan", NameSuffix: true, Limit: 50},
		{Name: "alice.example.com", Owner: "bob", Limit: 50},
		{RevokedOnly: true, Limit: 50},
		{RevokedOnly: true, Owner: "alice", Limit: 50},
		{ExpiringAfter: time.Now().Add(400 * 24 * time.Hour), Limit: 50},
	} {
		got, next, err := db.ListCertificates(q)
		if err != nil || len(got) != 0 || next != nil {
			t.Errorf("%+v: %d certificates, next=%x, %v; want none and no cursor", q, len(got), next, err)
		}
	}
	got, next, err := db.ListCertificates(store.ListQuery{Name: "example.com", NameSuffix: true, Limit: 50})
	if err != nil || len(got) != 50 || next == nil {
		t.Errorf("suffix search: %d certificates, next=%x, %v; want a full page and a cursor", len(got), next, err)
	}
}
