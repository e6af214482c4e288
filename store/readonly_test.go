package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"certmaker/storage/seal"
	"certmaker/store"
)

// TestOpen_ReadOnlyMidRekey: a read-only open (a backup's check, which
// names the live key file) that comes between a rekey's commit and its
// replacing of the key file opens with the staged key and renames
// nothing, so the rekey's own CommitKey still finds its staged key.
func TestOpen_ReadOnlyMidRekey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	keyPath := path + ".key"
	db, err := store.Open(path, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	oldKey, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Rekey(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// As the files stood after the commit, before the key file was
	// replaced: the old key in place, the new one staged.
	newKey, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seal.StagedKeyFile(keyPath), newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, oldKey, 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(path, store.Options{Timeout: time.Second, ReadOnly: true, KeyFile: keyPath})
	if err != nil {
		t.Fatalf("read-only open mid-rekey: %v", err)
	}
	if err := ro.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	ro.Close()
	if got, _ := os.ReadFile(keyPath); !bytes.Equal(got, oldKey) {
		t.Error("the read-only open replaced the key file")
	}
	if err := seal.CommitKey(keyPath); err != nil {
		t.Fatalf("the rekey's CommitKey after the read-only open: %v", err)
	}
	if got, _ := os.ReadFile(keyPath); !bytes.Equal(got, newKey) {
		t.Error("the key file is not the new key after CommitKey")
	}
}
