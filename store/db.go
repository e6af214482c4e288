package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"certmaker/internal/durable"
	"certmaker/storage"
	"certmaker/storage/seal"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked means another process holds the file.
var ErrLocked = storage.ErrLocked

// schemaVersion is the layout this code reads and writes. Open migrates
// older files and refuses newer ones. 2 added the per-root revocation index
// (bucket revoked); a schema 1 binary must not write a file that has one.
// 3 added the ACME buckets (store/acme.go), which Open creates in a v2 file.
// 4 writes certificate records in a compact binary form (records.go); it
// still reads the JSON ones, but a schema-3 binary must refuse the file.
// 5 and 6 came in one release: the name, revoked and per-owner expiry
// indexes and the counters, revocations keyed by not-after (index.go);
// intermediates (with a parent) and roots without their key (kept offline)
// in the roots bucket, which a schema-4 binary would misread as roots that
// sign leaves; and every private key and secret sealed (storage/seal). Open
// rebuilds the indexes and seals an older file's secrets in its migration.
// 7 added what the ACME sweep reads (acme_expiry, acme_unbound_accounts,
// store/acme.go), which a schema-6 binary would not keep: its orders
// would never be swept.
const schemaVersion = 7

var (
	bucketMeta       = []byte("meta")
	bucketUsers      = []byte("users")
	bucketTokens     = []byte("tokens")
	bucketRoots      = []byte("roots")
	bucketCerts      = []byte("certs")
	bucketOwnerCerts = []byte("owner_certs")
	bucketChallenges = []byte("challenges")
	bucketRevoked    = []byte("revoked")

	allBuckets = slices.Concat([][]byte{bucketMeta, bucketUsers, bucketTokens, bucketRoots, bucketCerts, bucketChallenges}, indexBuckets, acmeBuckets)

	keySchema     = []byte("schema")
	keyActiveRoot = []byte("active_root")
)

// DB is certmaker's database file.
type DB struct {
	bolt    *bolt.DB
	path    string
	keyPath string        // the key file (keyfile.go)
	keys    *seal.Keyring // seals and opens the file's secrets
	// rekeying is held for reading by every write that seals, from the
	// seal to its commit, and for writing by a rekey: no value sealed
	// with the old key can be committed after the rekey's transaction.
	rekeying sync.RWMutex
	// exclusive is held for reading by every transaction, and for
	// writing by scrub, which erases free pages (scrub.go).
	exclusive sync.RWMutex
	// rewriteDue: Open sealed an older file's secrets, or a rekey that
	// left values sealed with the old key in freed pages did not erase
	// them: Open erases the free pages (scrub.go).
	rewriteDue bool
	commits    committer  // group commits of concurrent writes (group.go)
	tokens     tokenCache // users by token hash (users.go)
	full       fullState  // whether writes fail for lack of space (full.go)
	claims     claims     // names claimed in this process (coordination.go)
	sessions   sessions   // the dashboard's sessions (coordination.go)
	crls       agreedCRLs // the CRLs agreed, by root (crlagree.go)
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
	// KeyFile holds the key that seals the file's secrets; "" is the
	// database's path plus ".key". It is made on the first open of a file
	// whose secrets are not sealed yet, and required from then on.
	KeyFile string
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
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist) && !opts.ReadOnly
	if err := checkMeta(path); err != nil {
		return nil, err
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
	if created && !opts.UnsafeNoSync {
		// A new file's name is in its directory only once the directory
		// is synced: a power cut before that would lose the whole file,
		// and with it the first root and admin token already printed.
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			b.Close()
			return nil, fmt.Errorf("creating %s: %w", path, err)
		}
	}
	b.NoSync, b.NoGrowSync = opts.UnsafeNoSync, opts.UnsafeNoSync
	db := &DB{bolt: b, path: path, keyPath: opts.KeyFile}
	if db.keyPath == "" {
		db.keyPath = path + ".key"
	}
	if err := db.verify(opts.Check); err != nil {
		b.Close()
		return nil, err
	}
	if err := Guard(path, func() error { return db.init(opts.ReadOnly) }); err != nil {
		b.Close()
		return nil, err
	}
	if db.rewriteDue && !opts.ReadOnly {
		if err := db.scrub(); err != nil {
			db.bolt.Close()
			return nil, err
		}
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
		e.Add(err.Error())
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
	return db.view(func(tx *bolt.Tx) error {
		if fi.Size() < tx.Size() {
			e := &DamageError{Path: db.path}
			e.Add(fmt.Sprintf("the file is %d bytes, but its pages reach to %d: it was cut short", fi.Size(), tx.Size()))
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
	var check []byte
	err := db.view(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if v := m.Get(keySchema); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
			check = bytes.Clone(m.Get(keySealCheck))
			db.rewriteDue = m.Get(keyRewrite) != nil
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("%s has schema version %d, newer than this certmaker understands (%d): upgrade certmaker", db.path, version, schemaVersion)
	}
	if version < schemaVersion && readOnly {
		// Migrating needs a write; reading an older layout (or a file with
		// no buckets yet) as if it were current would fail or panic later.
		return fmt.Errorf("%s has schema version %d, older than this certmaker's (%d): open it once without read-only to migrate", db.path, version, schemaVersion)
	}
	if version == schemaVersion && check == nil {
		return fmt.Errorf("%s: its sealed-secrets check value is missing: the file is damaged", db.path)
	}
	if err := db.loadKey(check, readOnly); err != nil {
		return err
	}
	if version == schemaVersion {
		return nil
	}
	// A new file (version 0) gets its buckets, an older one its migrations,
	// all in one transaction.
	return db.update(func(tx *bolt.Tx) error {
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
			if err := reindexACME(tx); err != nil {
				return fmt.Errorf("migrating %s from schema %d: %w", db.path, version, err)
			}
		}
		if check == nil {
			if err := resealAll(tx, seal.Reseal(seal.Plain, db.keys), db.keys); err != nil {
				return fmt.Errorf("sealing the secrets of %s: %w", db.path, err)
			}
			if version > 0 {
				// The clear secrets are in freed pages now: the marker,
				// committed with the sealing, makes every Open rewrite the
				// file until one succeeds, even if this one is cut short.
				if err := tx.Bucket(bucketMeta).Put(keyRewrite, []byte{1}); err != nil {
					return err
				}
				db.rewriteDue = true
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
	})
}

// loadKey reads (or, for a file not sealed yet, makes) the key file and
// checks that it opens the file's check value; a read-only open writes
// and renames nothing (seal.LoadKeyReadOnly).
func (db *DB) loadKey(check []byte, readOnly bool) error {
	var opens func([]byte) error
	if check != nil {
		opens = func(key []byte) error { return seal.OpensCheck(key, check) }
	}
	load := func() ([]byte, error) { return seal.LoadKey(db.keyPath, check == nil, opens) }
	if readOnly {
		load = func() ([]byte, error) { return seal.LoadKeyReadOnly(db.keyPath, opens) }
	}
	key, err := load()
	switch {
	case errors.Is(err, seal.ErrKeyFileMissing):
		return fmt.Errorf("%s holds sealed keys, but %w: %s (restore the key file you keep apart from the backups, or name it in [store] key_file)", db.path, err, db.keyPath)
	case errors.Is(err, seal.ErrWrongKey):
		return fmt.Errorf("key file %s does not open %s: %w (it belongs to another database, or this one was rekeyed since)", db.keyPath, db.path, err)
	case err != nil:
		return err
	}
	db.keys, err = seal.NewKeyring(key)
	return err
}

// Close releases the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// Ping proves the database answers a read transaction.
func (db *DB) Ping() error {
	return db.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("meta bucket missing")
		}
		return nil
	})
}

// Backup writes a consistent copy of the database to w while it stays in
// use, and returns the bytes written. The copy is compacted: a new file of
// the live records only, never the file's free pages, which hold what
// commits replaced (until scrub, values sealed under a retired key). It is
// built in a temporary file beside the database that has no name once
// opened, so nothing of it outlives the call, a crash included.
func (db *DB) Backup(w io.Writer) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(db.path), "."+filepath.Base(db.path)+".backup-*")
	if err != nil {
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	defer tmp.Close()
	dst, err := bolt.Open(tmp.Name(), 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	os.Remove(tmp.Name())
	if err != nil {
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	// One read transaction of the source; 64 MiB per transaction of the
	// copy bounds the memory it takes.
	err = db.view(func(tx *bolt.Tx) error { return compact(dst, tx, 64<<20) })
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("writing backup: %w", err)
	}
	n, err := io.Copy(w, tmp)
	if err != nil {
		return n, fmt.Errorf("writing backup: %w", err)
	}
	return n, nil
}

// Check runs bbolt's consistency check and returns what it found as a
// *DamageError, or nil. It reads every page: seconds on a large file.
func (db *DB) Check() error {
	// Its meta pages again: bbolt's check reads them in a goroutine of
	// its own, where a panic on a damaged header ends the process.
	if err := checkMeta(db.path); err != nil {
		return err
	}
	return db.view(func(tx *bolt.Tx) error { return check(db.path, tx) })
}

// Size is the file's size in bytes.
func (db *DB) Size() (int64, error) {
	var n int64
	err := db.view(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}
