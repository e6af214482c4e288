// Package durable writes files that must survive a crash: a file's data
// is synced, and so is the directory that names it, without which a power
// cut can lose a new file whole.
package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// SyncDir syncs a directory, so that the names created in it are on disk.
func SyncDir(dir string) error {
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

// WriteNew writes b to a new file at path, which must not exist, with mode
// 0600 (what it holds is a secret, or may be), and syncs it and its
// directory. On failure it leaves no file behind.
func WriteNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}
