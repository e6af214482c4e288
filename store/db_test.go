package store_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"certmaker/storage/seal"
	"certmaker/store"
)

// mustOpen opens a new database file in the test's temporary directory. The
// file's consistency is checked before it is closed at the end of the test.
func mustOpen(t *testing.T) *store.DB {
	t.Helper()
	return mustOpenPath(t, filepath.Join(t.TempDir(), "ca.db"))
}

func mustOpenPath(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { closeChecked(t, db) })
	return db
}

// copyKeyFile puts src's key file beside dst, as an operator restoring a
// copy of a database keeps its key file with it.
func copyKeyFile(t *testing.T, src, dst string) {
	t.Helper()
	k, err := os.ReadFile(src + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst+".key", k, 0o600); err != nil {
		t.Fatal(err)
	}
}

// closeChecked runs bbolt's consistency check and closes db; a database
// already closed (by reopen) is left alone.
func closeChecked(t *testing.T, db *store.DB) {
	t.Helper()
	if err := db.Check(); err != nil {
		if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			return
		}
		t.Errorf("Check(%s): %v", db.Path(), err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close(%s): %v", db.Path(), err)
	}
}

// reopen checks and closes db, then opens the same file again.
func reopen(t *testing.T, db *store.DB) *store.DB {
	t.Helper()
	closeChecked(t, db)
	return mustOpenPath(t, db.Path())
}

// openNoPanic calls store.Open and turns a panic into a test failure.
func openNoPanic(t *testing.T, path string, opts store.Options) (db *store.DB, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Open(%s) panicked: %v", path, r)
		}
	}()
	return store.Open(path, opts)
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// rawUpdate changes the closed file at path with bbolt itself, as an
// older certmaker or damage would have left it.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(fn)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// boltSchema reads meta/schema straight from the file with bbolt.
func boltSchema(t *testing.T, path string) (uint64, bool) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("bolt.Open(%s): %v", path, err)
	}
	defer b.Close()
	var v []byte
	if err := b.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket([]byte("meta")); m != nil {
			v = bytes.Clone(m.Get([]byte("schema")))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

func TestOpen_Mode(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		db := mustOpen(t)
		if got := fileMode(t, db.Path()); got != 0o600 {
			t.Errorf("new file mode = %v, want 0600", got)
		}
	})
	t.Run("ExistingWideIsTightened", func(t *testing.T) {
		db := mustOpen(t)
		path := db.Path()
		closeChecked(t, db)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := fileMode(t, path); got != 0o644 {
			t.Fatalf("setup: mode = %v, want 0644", got)
		}
		mustOpenPath(t, path)
		if got := fileMode(t, path); got != 0o600 {
			t.Errorf("mode after Open = %v, want 0600", got)
		}
	})
}

func TestOpen_Schema(t *testing.T) {
	t.Run("Fresh", func(t *testing.T) {
		db := mustOpen(t)
		path := db.Path()
		closeChecked(t, db)
		v, ok := boltSchema(t, path)
		if !ok || v != store.SchemaVersion {
			t.Errorf("schema = %d (present %v), want %d", v, ok, store.SchemaVersion)
		}
	})
	t.Run("EmptyBoltFileIsInitialised", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ca.db")
		b, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		db := mustOpenPath(t, path)
		if err := db.Ping(); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if err := db.CreateUser(store.User{Name: "alice", TokenHash: store.HashToken("t")}); err != nil {
			t.Fatalf("CreateUser on initialised file: %v", err)
		}
		closeChecked(t, db)
		if v, _ := boltSchema(t, path); v != store.SchemaVersion {
			t.Errorf("schema = %d, want %d", v, store.SchemaVersion)
		}
	})
	t.Run("MigratesV1", func(t *testing.T) {
		// The layout of schema 1 as first committed: no revocation index.
		// Opening it must migrate, keep its data, and index the revocation
		// it already holds, or that certificate would be missing from CRLs.
		path := filepath.Join(t.TempDir(), "ca.db")
		b, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		revoked, live := big.NewInt(0x0badcafe), big.NewInt(0x600d)
		record := func(revoked bool) []byte {
			r := `{"v":1,"r":{"der":"AQID","owner":"alice","root":"r00t","key_type":"ecdsa-p256","names":["a.example.com"],"not_after":"2031-01-01T00:00:00Z","created":"2030-01-01T00:00:00Z"`
			if revoked {
				r += `,"revoked":true,"revoked_at":"2030-06-01T00:00:00Z","reason":1`
			}
			return []byte(r + "}}")
		}
		err = b.Update(func(tx *bolt.Tx) error {
			for _, name := range []string{"meta", "users", "tokens", "roots", "certs", "owner_certs", "challenges"} {
				if _, err := tx.CreateBucket([]byte(name)); err != nil {
					return err
				}
			}
			if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 1)); err != nil {
				return err
			}
			certs, owners := tx.Bucket([]byte("certs")), tx.Bucket([]byte("owner_certs"))
			for _, c := range []struct {
				serial  *big.Int
				revoked bool
			}{{revoked, true}, {live, false}} {
				if err := certs.Put(c.serial.Bytes(), record(c.revoked)); err != nil {
					return err
				}
				if err := owners.Put(append([]byte("alice\x00"), c.serial.Bytes()...), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}

		db, err := openNoPanic(t, path, store.Options{Timeout: time.Second})
		if err != nil {
			t.Fatalf("Open of a schema 1 file: %v", err)
		}
		t.Cleanup(func() { closeChecked(t, db) })
		if n, err := db.CountCertificates("alice"); err != nil || n != 2 {
			t.Errorf("CountCertificates after migration = %d, %v; want 2", n, err)
		}
		if _, err := db.Revoke(revoked, time.Now(), 4); !errors.Is(err, store.ErrRevoked) {
			t.Errorf("Revoke of a certificate revoked under schema 1: err = %v, want ErrRevoked", err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("revocation on a migrated file panicked: %v", r)
				}
			}()
			if _, err := db.Revoke(live, time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC), 3); err != nil {
				t.Fatalf("Revoke on a migrated file: %v", err)
			}
			_, revs, err := db.Revocations("r00t", time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatalf("Revocations: %v", err)
			}
			got := map[string]bool{}
			for _, r := range revs {
				got[r.Serial.String()] = true
			}
			if !got[revoked.String()] || !got[live.String()] || len(revs) != 2 {
				t.Errorf("revocation index after migration holds %v, want %v and %v", got, revoked, live)
			}
		}()
		closeChecked(t, db)
		if v, _ := boltSchema(t, path); v != store.SchemaVersion {
			t.Errorf("schema after migration = %d, want %d", v, store.SchemaVersion)
		}
	})
	t.Run("Newer", func(t *testing.T) {
		db := mustOpen(t)
		path := db.Path()
		closeChecked(t, db)

		rawUpdate(t, path, func(tx *bolt.Tx) error {
			m, err := tx.CreateBucketIfNotExists([]byte("meta"))
			if err != nil {
				return err
			}
			return m.Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, store.SchemaVersion+1))
		})

		db, err := openNoPanic(t, path, store.Options{Timeout: time.Second})
		if err == nil {
			db.Close()
			t.Fatal("Open of a newer schema succeeded")
		}
		if !strings.Contains(err.Error(), "newer") {
			t.Errorf("error %q does not say the file is newer", err)
		}
		if errors.Is(err, store.ErrLocked) {
			t.Errorf("error %v is ErrLocked; the refused Open must not look like a lock", err)
		}
		// The refused Open must have released the file and left it as it was.
		if v, _ := boltSchema(t, path); v != store.SchemaVersion+1 {
			t.Errorf("schema after refused Open = %d, want %d", v, store.SchemaVersion+1)
		}
	})
	t.Run("NotBolt", func(t *testing.T) {
		random := randomBytes(64 << 10)
		for _, tc := range []struct {
			name    string
			content []byte
		}{
			{"Text", []byte("this is not a database\n")},
			{"PEM", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")},
			{"Random", random},
			{"Zeros", make([]byte, 32<<10)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "ca.db")
				if err := os.WriteFile(path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
				db, err := openNoPanic(t, path, store.Options{Timeout: time.Second})
				if err == nil {
					db.Close()
					t.Fatal("Open of a non-bbolt file succeeded")
				}
				got, rerr := os.ReadFile(path)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if !bytes.Equal(got, tc.content) {
					t.Errorf("refused Open changed the file")
				}
			})
		}
	})
}

func TestOpen_Lock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		max     time.Duration
	}{
		{"Timeout100ms", 100 * time.Millisecond, 2 * time.Second},
		{"Timeout0", 0, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := mustOpen(t)
			type result struct {
				db  *store.DB
				err error
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				db, err := store.Open(first.Path(), store.Options{Timeout: tc.timeout})
				done <- result{db, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				// Release the file so the stuck Open returns and can be closed.
				closeChecked(t, first)
				if r = <-done; r.err == nil {
					r.db.Close()
				}
				t.Fatal("second Open hung on a locked file")
			}
			elapsed := time.Since(start)
			if r.err == nil {
				r.db.Close()
				t.Fatal("second Open of a locked file succeeded")
			}
			if !errors.Is(r.err, store.ErrLocked) {
				t.Errorf("err = %v, want ErrLocked", r.err)
			}
			if elapsed > tc.max {
				t.Errorf("second Open took %v, want under %v", elapsed, tc.max)
			}
			// The first handle still works, and once it is closed the file opens.
			if err := first.Ping(); err != nil {
				t.Errorf("first handle after failed second Open: %v", err)
			}
			reopen(t, first)
		})
	}
}

func TestOpen_ReadOnly(t *testing.T) {
	t.Run("Reads", func(t *testing.T) {
		db := mustOpen(t)
		want := newCert("alice")
		mustPut(t, db, want)
		path := db.Path()
		closeChecked(t, db)

		ro, err := store.Open(path, store.Options{Timeout: time.Second, ReadOnly: true})
		if err != nil {
			t.Fatalf("read-only Open: %v", err)
		}
		t.Cleanup(func() { closeChecked(t, ro) })
		got, err := ro.Certificate(want.Serial)
		if err != nil {
			t.Fatalf("Certificate: %v", err)
		}
		assertCertEqual(t, got, *want)
		if err := ro.PutCertificate(newCert("alice")); err == nil {
			t.Error("PutCertificate on a read-only database succeeded")
		}
	})
	t.Run("Missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ca.db")
		db, err := openNoPanic(t, path, store.Options{ReadOnly: true})
		if err == nil {
			db.Close()
			t.Fatal("read-only Open of a missing file succeeded")
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read-only Open created the file: %v", err)
		}
	})
	t.Run("Uninitialised", func(t *testing.T) {
		// A bbolt file without certmaker's buckets cannot be set up
		// read-only; it must be refused rather than panic on first use.
		path := filepath.Join(t.TempDir(), "ca.db")
		b, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := openNoPanic(t, path, store.Options{ReadOnly: true})
		if err == nil {
			defer db.Close()
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("read on an uninitialised read-only file panicked: %v", r)
				}
			}()
			if _, err := db.Users(); err == nil {
				t.Error("Users on an uninitialised read-only file succeeded")
			}
		}
	})
}

func TestDB_Ping(t *testing.T) {
	db := mustOpen(t)
	if err := db.Ping(); err != nil {
		t.Errorf("Ping: %v", err)
	}
	db = reopen(t, db)
	if err := db.Ping(); err != nil {
		t.Errorf("Ping after reopen: %v", err)
	}
}

func TestDB_Size(t *testing.T) {
	db := mustOpen(t)
	before, err := db.Size()
	if err != nil {
		t.Fatalf("Size: %v", err)
	}
	if before <= 0 {
		t.Fatalf("Size = %d, want > 0", before)
	}
	for range 50 {
		c := newCert("alice")
		c.DER = make([]byte, 4096)
		if err := db.PutCertificate(c); err != nil {
			t.Fatal(err)
		}
	}
	after, err := db.Size()
	if err != nil {
		t.Fatalf("Size: %v", err)
	}
	if after <= before {
		t.Errorf("Size after 200 KB of certificates = %d, not above %d", after, before)
	}
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if after > fi.Size() {
		t.Errorf("Size = %d, larger than the file (%d)", after, fi.Size())
	}
}

func TestDB_Backup(t *testing.T) {
	t.Run("Buffer", func(t *testing.T) {
		db := mustOpen(t)
		want := newCert("alice")
		if err := db.PutCertificate(want); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		n, err := db.Backup(&buf)
		if err != nil {
			t.Fatalf("Backup: %v", err)
		}
		if n != int64(buf.Len()) || n == 0 {
			t.Errorf("Backup returned %d, wrote %d bytes", n, buf.Len())
		}
		path := filepath.Join(t.TempDir(), "backup.db")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		// A backup alone is sealed: it opens only with the key file.
		if _, err := store.Open(path, store.Options{Timeout: time.Second}); !errors.Is(err, seal.ErrKeyFileMissing) {
			t.Fatalf("Open(backup without its key file) = %v, want seal.ErrKeyFileMissing", err)
		}
		copyKeyFile(t, db.Path(), path)
		bdb := mustOpenPath(t, path)
		got, err := bdb.Certificate(want.Serial)
		if err != nil {
			t.Fatalf("certificate in backup: %v", err)
		}
		assertCertEqual(t, got, *want)
	})

	t.Run("FileWhileWriting", func(t *testing.T) {
		db := mustOpen(t)
		var before []*store.Certificate
		for range 20 {
			c := newCert("alice")
			if err := db.PutCertificate(c); err != nil {
				t.Fatal(err)
			}
			before = append(before, c)
		}

		var (
			stop    = make(chan struct{})
			wg      sync.WaitGroup
			written atomic.Int64
			started = make(chan struct{})
			once    sync.Once
		)
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := db.PutCertificate(newCert("bob")); err != nil {
						t.Errorf("writer: %v", err)
						once.Do(func() { close(started) })
						return
					}
					written.Add(1)
					once.Do(func() { close(started) })
				}
			})
		}
		<-started

		path := filepath.Join(t.TempDir(), "backup.db")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.Backup(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		atDone := written.Load()
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("Backup: %v", err)
		}
		if written.Load() <= 1 || atDone < 1 {
			t.Fatalf("writers wrote %d certificates; the backup did not overlap writes", written.Load())
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != n {
			t.Errorf("Backup returned %d, file holds %d bytes", n, fi.Size())
		}

		copyKeyFile(t, db.Path(), path)
		bdb := mustOpenPath(t, path)
		if err := bdb.Check(); err != nil {
			t.Fatalf("backup fails Check: %v", err)
		}
		for _, want := range before {
			got, err := bdb.Certificate(want.Serial)
			if err != nil {
				t.Fatalf("certificate %s written before Backup: %v", want.Serial, err)
			}
			assertCertEqual(t, got, *want)
		}
		if n, err := bdb.CountCertificates("alice"); err != nil || n != len(before) {
			t.Errorf("backup CountCertificates(alice) = %d, %v; want %d", n, err, len(before))
		}
		nb, err := bdb.CountCertificates("bob")
		if err != nil {
			t.Fatal(err)
		}
		if int64(nb) > written.Load() {
			t.Errorf("backup holds %d of bob's certificates, only %d were written", nb, written.Load())
		}
		// The owner index and the certificates agree in the copy.
		bobs, err := ownerCerts(t, bdb, "bob")
		if err != nil || len(bobs) != nb {
			t.Errorf("backup ListCertificates(bob) = %d, %v; index counts %d", len(bobs), err, nb)
		}
	})
}

// newSerial returns a random positive serial of 136 bits, as the CA makes
// them. crypto/rand.Read does not fail, so this is safe off the test's
// goroutine.
func newSerial() *big.Int {
	b := randomBytes(17)
	b[0] |= 0x01 // never zero
	return new(big.Int).SetBytes(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
