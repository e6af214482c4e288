package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"certmaker/internal/durable"
)

// The key file holds the key that seals a storage's secrets: KeySize
// random bytes, written as one line of base64 so that it can be copied by
// hand, or given as a systemd credential (which may also hold the raw
// bytes). It is created 0600 on the first start, and must be kept apart
// from the storage's backups: a backup without it reveals no key, and is
// no use without it either.

// KeySize is the length of a sealing key: AES-256.
const KeySize = 32

// ErrKeyFileMissing means a sealed storage was opened without its key
// file.
var ErrKeyFileMissing = errors.New("its key file is missing")

// CredentialName is the systemd credential that holds the key
// (LoadCredential=certmaker.key:/etc/certmaker/certmaker.key).
const CredentialName = "certmaker.key"

// KeyPath is the key file to use: configured if set, else the systemd
// credential when one is given ($CREDENTIALS_DIRECTORY), else fallback
// (for a file database, its path plus ".key").
func KeyPath(configured, fallback string) string {
	if configured != "" {
		return configured
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		p := filepath.Join(dir, CredentialName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return fallback
}

// ReadKeyFile reads a key file; fs.ErrNotExist if there is none.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == KeySize {
		return b, nil
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("key file %s: not a certmaker key (one line of base64 of %d bytes)", path, KeySize)
	}
	return key, nil
}

// NewKey is a fresh random key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making a sealing key: %w", err)
	}
	return key, nil
}

// WriteKeyFile writes key to path, which must not exist, with mode 0600,
// and syncs it and its directory: a key the storage depends on must never
// be lost to a crash that keeps the storage.
func WriteKeyFile(path string, key []byte) error {
	return durable.WriteNew(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
}

// StagedKeyFile is where a rekey writes the new key before the storage is
// resealed with it; it replaces the key file once that is committed.
func StagedKeyFile(path string) string { return path + ".new" }

// KeyFiles are the key file at path and the files a rekey writes beside
// it: what a backup, or anything else written by name, must never replace.
func KeyFiles(path string) []string { return []string{path, StagedKeyFile(path)} }

// LoadKey finds the key of a storage: the key file at path, made when
// create says the storage has no sealed value yet; or, after a rekey that
// committed but crashed before replacing the key file, the staged one,
// which then replaces it. opens says whether a key opens the storage
// (OpensCheck on its check value; nil: any key does).
func LoadKey(path string, create bool, opens func(key []byte) error) ([]byte, error) {
	return loadKey(path, create, false, opens)
}

// LoadKeyReadOnly is LoadKey for a storage opened read-only: it makes no
// key file and renames nothing. After a rekey's commit the staged key
// opens the storage while the key file does not yet; it is used as it
// stands, and the process that rekeyed (or the next writable open)
// replaces the key file with it: a backup's check that did so itself
// would make the rekey's own replacing fail, and its erasing of the old
// key's pages never run.
func LoadKeyReadOnly(path string, opens func(key []byte) error) ([]byte, error) {
	return loadKey(path, false, true, opens)
}

func loadKey(path string, create, readOnly bool, opens func(key []byte) error) ([]byte, error) {
	key, err := ReadKeyFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create && !readOnly:
		if key, err = NewKey(); err != nil {
			return nil, err
		}
		return key, WriteKeyFile(path, key)
	case errors.Is(err, fs.ErrNotExist):
		return nil, ErrKeyFileMissing
	case err != nil:
		return nil, err
	}
	if opens == nil || opens(key) == nil {
		return key, nil
	}
	staged, serr := ReadKeyFile(StagedKeyFile(path))
	if serr != nil || opens(staged) != nil {
		return nil, ErrWrongKey
	}
	if readOnly {
		return staged, nil
	}
	// The rekey committed: finish it.
	if err := CommitKey(path); err != nil {
		return nil, fmt.Errorf("finishing an interrupted rekey: %w", err)
	}
	return staged, nil
}

// StageKey makes a new key and writes it beside the key file at path
// (StagedKeyFile), replacing a stale one a failed rekey left.
func StageKey(path string) ([]byte, error) {
	staged := StagedKeyFile(path)
	if err := os.Remove(staged); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing a stale %s: %w", staged, err)
	}
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	return key, WriteKeyFile(staged, key)
}

// CommitKey puts the staged key in the key file's place, durably.
func CommitKey(path string) error {
	if err := os.Rename(StagedKeyFile(path), path); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(path))
}

// DropStagedKey removes a staged key whose rekey did not commit.
func DropStagedKey(path string) { os.Remove(StagedKeyFile(path)) }
