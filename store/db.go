package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked means another process holds the file.
var ErrLocked = errors.New("database is locked by another process")

// schemaVersion is the layout this code reads and writes. Open migrates
// older files and refuses newer ones. 2 added the per-root revocation index
// (bucket revoked); a schema 1 binary must not write a file that has one.
// 3 added the ACME buckets (store/acme.go), which Open creates in a v2 file.
// 4 writes certificate records in a compact binary form (records.go); it
// still reads the JSON ones, but a schema-3 binary must refuse the file.
// 5 holds intermediates (with a parent) and roots without their key (kept
// offline) in the roots bucket, which a schema-4 binary would misread as
// roots that sign leaves.
const schemaVersion = 5

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
	full    fullState  // whether writes fail for lack of space (full.go)
}

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for another process to release the file;
	// 0 means fail at once.
	Timeout time.Duration
	// ReadOnly opens without writing; used by inspection commands.
	ReadOnly bool
	// Check says when Open runs the full consistency check.
	Check CheckMode
	// UnsafeNoSync commits without fsync, so a power cut loses what was
	// acknowledged. Test only: the power-cut harness's negative control.
	UnsafeNoSync bool
}

// CheckMode says when Open runs bbolt's full consistency check. Damage the
// check does not look for (or that a skipped check would have found) can
// still surface later, as a *DamageError from a Guard around the reads.
type CheckMode int

const (
	// CheckSmall checks files of at most checkSmallMax bytes: a few tens
	// of milliseconds, against seconds for a file of millions of
	// certificates, which would make every start and command that slow.
	CheckSmall CheckMode = iota
	// CheckAlways checks any file; `certmaker check` and backups do.
	CheckAlways
	// CheckNever skips the check (tests of what happens without it).
	CheckNever
)

const checkSmallMax = 64 << 20

// Open opens or creates the file at path with mode 0600 and checks its schema.
// A damaged file (see Options.Check) is refused with a *DamageError, which
// names the file, rather than with bbolt's panic.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		// bbolt treats 0 as "wait forever"; never hang an operator.
		timeout = time.Millisecond
	}
	// bbolt reads the freelist at open, and can panic there; a read-only
	// open would read it only in its check's goroutine, out of Guard's
	// reach. The file is kept to release its lock if bbolt panics.
	var file *os.File
	bopts := &bolt.Options{
		Timeout:         timeout,
		ReadOnly:        opts.ReadOnly,
		PreLoadFreelist: true,
		OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, mode)
			file = f
			return f, err
		},
	}
	var b *bolt.DB
	err := Guard(path, func() error {
		var err error
		b, err = bolt.Open(path, 0o600, bopts)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrDamaged) && file != nil {
			// bbolt panicked holding the lock and a mapping of the file,
			// which keeps the lock alive past Close: unlock explicitly.
			// The mapping itself stays until the process exits.
			syscall.Flock(int(file.Fd()), syscall.LOCK_UN)
			file.Close()
		}
		return nil, openError(path, err)
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
	if err := db.verify(opts.Check); err != nil {
		b.Close()
		return nil, err
	}
	if err := Guard(path, func() error { return db.init(opts.ReadOnly) }); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// openError names what went wrong opening path; bbolt's own words for a
// file that is not a database (or not a whole one) become a *DamageError.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("opening %s: %w", path, ErrLocked)
	case errors.Is(err, ErrDamaged):
		return err
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), strings.Contains(err.Error(), "file size too small"):
		e := &DamageError{Path: path}
		e.add(err.Error())
		return e
	}
	return fmt.Errorf("opening %s: %w", path, err)
}

// verify finds a file cut short, which bbolt does not notice until it reads
// past the end, and runs the consistency check as mode says.
func (db *DB) verify(mode CheckMode) error {
	fi, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", db.path, err)
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		if fi.Size() < tx.Size() {
			e := &DamageError{Path: db.path}
			e.add(fmt.Sprintf("the file is %d bytes, but its pages reach to %d: it was cut short", fi.Size(), tx.Size()))
			return e
		}
		if mode == CheckAlways || mode == CheckSmall && fi.Size() <= checkSmallMax {
			return check(db.path, tx)
		}
		return nil
	})
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

// Check runs bbolt's consistency check and returns what it found as a
// *DamageError, or nil. It reads every page: seconds on a large file.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error { return check(db.path, tx) })
}

// Size is the file's size in bytes.
func (db *DB) Size() (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}
