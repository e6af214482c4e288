package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors; check them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrRevoked  = errors.New("already revoked")
	// ErrLocked means another process holds the file.
	ErrLocked = errors.New("database is locked by another process")
)

// schemaVersion is the layout this code reads and writes. Open migrates
// older files and refuses newer ones. 2 added the per-root revocation index
// (bucket revoked); a schema 1 binary must not write a file that has one.
// 3 added the ACME buckets (store/acme.go), which Open creates in a v2 file.
// 4 writes certificate records in a compact binary form (records.go); it
// still reads the JSON ones, but a schema-3 binary must refuse the file.
const schemaVersion = 4

var (
	bucketMeta       = []byte("meta")
	bucketUsers      = []byte("users")
	bucketTokens     = []byte("tokens")
	bucketRoots      = []byte("roots")
	bucketCerts      = []byte("certs")
	bucketOwnerCerts = []byte("owner_certs")
	bucketChallenges = []byte("challenges")
	bucketRevoked    = []byte("revoked")

	allBuckets = append([][]byte{bucketMeta, bucketUsers, bucketTokens, bucketRoots, bucketCerts, bucketOwnerCerts, bucketChallenges, bucketRevoked, bucketByCreated, bucketByExpiry}, acmeBuckets...)

	keySchema     = []byte("schema")
	keyActiveRoot = []byte("active_root")
)

// DB is certmaker's database file.
type DB struct {
	bolt    *bolt.DB
	path    string
	commits committer  // group commits of concurrent writes (group.go)
	tokens  tokenCache // users by token hash (users.go)
}

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for another process to release the file;
	// 0 means fail at once.
	Timeout time.Duration
	// ReadOnly opens without writing; used by inspection commands.
	ReadOnly bool
	// UnsafeNoSync commits without fsync, so a power cut loses what was
	// acknowledged. Test only: the power-cut harness's negative control.
	UnsafeNoSync bool
}

// Open opens or creates the file at path with mode 0600 and checks its schema.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		// bbolt treats 0 as "wait forever"; never hang an operator.
		timeout = time.Millisecond
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// bolt.Open only applies the mode to a new file; an old or copied one
	// may be wider, and it holds private keys.
	if !opts.ReadOnly {
		if err := os.Chmod(path, 0o600); err != nil {
			b.Close()
			return nil, fmt.Errorf("restricting %s to its owner: %w", path, err)
		}
	}
	b.NoSync, b.NoGrowSync = opts.UnsafeNoSync, opts.UnsafeNoSync
	db := &DB{bolt: b, path: path}
	if err := db.init(opts.ReadOnly); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) init(readOnly bool) error {
	var version uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if v := m.Get(keySchema); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("%s has schema version %d, newer than this certmaker understands (%d): upgrade certmaker", db.path, version, schemaVersion)
	}
	if version == schemaVersion {
		return nil
	}
	if readOnly {
		// Migrating needs a write; reading an older layout (or a file with
		// no buckets yet) as if it were current would fail or panic later.
		return fmt.Errorf("%s has schema version %d, older than this certmaker's (%d): open it once without read-only to migrate", db.path, version, schemaVersion)
	}
	// A new file (version 0) gets its buckets, an older one its migrations,
	// all in one transaction.
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		if version > 0 {
			// Every older layout lacks some index; rebuilding them all from
			// the records is simple and right for each.
			if err := reindex(tx); err != nil {
				return fmt.Errorf("migrating %s from schema %d: %w", db.path, version, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
	})
}

// Close releases the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// Ping proves the database answers a read transaction.
func (db *DB) Ping() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("meta bucket missing")
		}
		return nil
	})
}

// Backup writes a consistent copy of the whole file to w while the
// database stays in use, and returns the bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("writing backup: %w", err)
	}
	return n, nil
}

// Check runs bbolt's consistency check and returns every problem found.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// Size is the file's size in bytes.
func (db *DB) Size() (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}
