package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The key file holds the key that seals the database's secrets (seal.go):
// 32 random bytes, written as one line of base64 so that it can be copied
// by hand, or given as a systemd credential (which may also hold the 32
// raw bytes). It is created 0600 beside the database on the first start,
// and must be kept apart from the database's backups: a backup without it
// reveals no key, and is no use without it either.

// ErrKeyFileMissing means a sealed database was opened without its key
// file.
var ErrKeyFileMissing = errors.New("its key file is missing")

// readKeyFile reads a key file; fs.ErrNotExist if there is none.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == 32 {
		return b, nil
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("key file %s: not a certmaker key (one line of base64 of 32 bytes)", path)
	}
	return key, nil
}

// newKey is a fresh 32-byte key.
func newKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making a sealing key: %w", err)
	}
	return key, nil
}

// writeKeyFile writes key to path, which must not exist, with mode 0600,
// and syncs it and its directory: a key the database depends on must
// never be lost to a crash that keeps the database.
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing key file %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// pendingKeyFile is where a rekey writes the new key before the database
// is re-sealed with it; it replaces the key file once that is committed.
func pendingKeyFile(path string) string { return path + ".new" }

// loadSealKey finds the key of the database at dbPath: the key file, made
// when create says the database has no sealed value yet; or, after a rekey
// that committed but crashed before replacing the key file, the pending
// one (check says which opens the database; nil: anything does).
func loadSealKey(path string, create bool, check func([]byte) error) ([]byte, error) {
	key, err := readKeyFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		if key, err = newKey(); err != nil {
			return nil, err
		}
		return key, writeKeyFile(path, key)
	case errors.Is(err, fs.ErrNotExist):
		return nil, ErrKeyFileMissing
	case err != nil:
		return nil, err
	}
	if check == nil || check(key) == nil {
		return key, nil
	}
	pending, perr := readKeyFile(pendingKeyFile(path))
	if perr != nil || check(pending) != nil {
		return nil, ErrSealKey
	}
	// The rekey committed: finish it.
	if err := os.Rename(pendingKeyFile(path), path); err != nil {
		return nil, fmt.Errorf("finishing an interrupted rekey: %w", err)
	}
	return pending, syncDir(filepath.Dir(path))
}
