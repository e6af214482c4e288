package seal_test

import (
	"bytes"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"certmaker/storage/seal"
)

func mustKeyring(t *testing.T) (*seal.Keyring, []byte) {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := seal.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k, key
}

func TestKeyring_SealOpen(t *testing.T) {
	k, _ := mustKeyring(t)
	secret := []byte("a private key")
	id := seal.CertificateIdentity(big.NewInt(0xabc))
	v, err := k.Seal(seal.CertificateKey, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != len(secret)+seal.Overhead || bytes.Contains(v, secret) {
		t.Fatalf("sealed value %x: wrong length or holds the secret", v)
	}
	if got, err := k.Open(seal.CertificateKey, id, v); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// The record's kind and identity are bound to the value.
	for _, c := range []struct{ kind, id string }{{seal.CertificateKey, "abd"}, {seal.CAKey, id}, {seal.EABKey, id}} {
		if _, err := k.Open(c.kind, c.id, v); err == nil {
			t.Errorf("a value sealed for %s %s opened as %s %s", seal.CertificateKey, id, c.kind, c.id)
		}
	}
	damaged := bytes.Clone(v)
	damaged[len(damaged)-1] ^= 1
	if _, err := k.Open(seal.CertificateKey, id, damaged); err == nil {
		t.Error("a damaged value opened")
	}
	if _, err := k.Open(seal.CertificateKey, id, secret); err == nil {
		t.Error("a value never sealed opened")
	}
}

func TestKeyring_OtherKey(t *testing.T) {
	a, keyA := mustKeyring(t)
	b, _ := mustKeyring(t)
	v, err := a.Seal(seal.NonceKey, "", []byte("nonce key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(seal.NonceKey, "", v); !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("another key's value: %v, want ErrWrongKey", err)
	}
	// After Add, values of the added key open, but nothing is sealed
	// with it; after Use, new values are, and old ones still open.
	keyC, _ := seal.NewKey()
	c, _ := seal.NewKeyring(keyC)
	cv, _ := c.Seal(seal.NonceKey, "", []byte("nonce key"))
	if err := a.Add(keyC); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(seal.NonceKey, "", cv); err != nil {
		t.Errorf("a value of an added key: %v", err)
	}
	if v2, _ := a.Seal(seal.NonceKey, "", []byte("x")); func() bool { _, err := c.Open(seal.NonceKey, "", v2); return err == nil }() {
		t.Error("Add made the added key the current one")
	}
	if err := a.Use(keyC); err != nil {
		t.Fatal(err)
	}
	w, _ := a.Seal(seal.NonceKey, "", []byte("nonce key"))
	if _, err := a.Open(seal.NonceKey, "", v); err != nil {
		t.Errorf("a value of the previous key: %v", err)
	}
	old, _ := seal.NewKeyring(keyA)
	if _, err := old.Open(seal.NonceKey, "", w); !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("the old key opened a value sealed after Use: %v", err)
	}
	check, _ := a.CheckValue()
	if err := seal.OpensCheck(keyC, check); err != nil {
		t.Errorf("the current key does not open its check value: %v", err)
	}
	if err := seal.OpensCheck(keyA, check); !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("the old key opened the check value: %v", err)
	}
}

func TestKeyring_IsCurrent(t *testing.T) {
	a, _ := mustKeyring(t)
	v, err := a.Seal(seal.EABKey, "kid", []byte("hmac key"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.IsCurrent(v) {
		t.Error("a value just sealed is not under the current key")
	}
	next, _ := seal.NewKey()
	if err := a.Add(next); err != nil {
		t.Fatal(err)
	}
	if !a.IsCurrent(v) {
		t.Error("Add changed the current key")
	}
	if err := a.Use(next); err != nil {
		t.Fatal(err)
	}
	if a.IsCurrent(v) {
		t.Error("a value of the previous key is under the current one")
	}
	for _, bad := range [][]byte{nil, []byte("short"), make([]byte, seal.Overhead)} {
		if a.IsCurrent(bad) {
			t.Errorf("IsCurrent(%x) = true for a value never sealed", bad)
		}
	}
}

func TestReseal(t *testing.T) {
	a, _ := mustKeyring(t)
	b, keyB := mustKeyring(t)
	v, _ := a.Seal(seal.CAKey, "fp", []byte("root key"))
	w, err := seal.Reseal(a.Open, b)(seal.CAKey, "fp", v)
	if err != nil {
		t.Fatal(err)
	}
	only, _ := seal.NewKeyring(keyB)
	if got, err := only.Open(seal.CAKey, "fp", w); err != nil || string(got) != "root key" {
		t.Errorf("resealed value opens to %q, %v", got, err)
	}
	if _, err := seal.Reseal(a.Open, b)(seal.CAKey, "other", v); err == nil {
		t.Error("Reseal of a value moved from another record succeeded")
	}
	p, err := seal.Reseal(seal.Plain, b)(seal.EABKey, "k", []byte("hmac"))
	if err != nil || bytes.Contains(p, []byte("hmac")) {
		t.Errorf("sealing a plain value: %x, %v", p, err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.db.key")
	if _, err := seal.LoadKey(path, false, nil); !errors.Is(err, seal.ErrKeyFileMissing) {
		t.Fatalf("no key file, no create: %v", err)
	}
	key, err := seal.LoadKey(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	again, err := seal.LoadKey(path, true, nil)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second load made another key: %v", err)
	}
	// Raw bytes (a systemd credential may hold them) read as well.
	raw := filepath.Join(dir, "raw.key")
	os.WriteFile(raw, key, 0o600)
	if got, err := seal.ReadKeyFile(raw); err != nil || !bytes.Equal(got, key) {
		t.Errorf("raw key file: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key\n"), 0o600)
	if _, err := seal.ReadKeyFile(bad); err == nil {
		t.Error("a file that is no key was read as one")
	}

	k, _ := seal.NewKeyring(key)
	check, _ := k.CheckValue()
	opens := func(key []byte) error { return seal.OpensCheck(key, check) }
	if _, err := seal.LoadKey(path, false, opens); err != nil {
		t.Errorf("the right key: %v", err)
	}
	other := filepath.Join(dir, "other.key")
	seal.LoadKey(other, true, nil)
	if _, err := seal.LoadKey(other, false, opens); !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("another storage's key: %v, want ErrWrongKey", err)
	}
}

// A rekey stages the new key, commits, then replaces the key file; a
// crash between the two leaves both, and LoadKey keeps the one that opens.
func TestLoadKey_StagedRekey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db.key")
	if _, err := seal.LoadKey(path, true, nil); err != nil {
		t.Fatal(err)
	}
	newKey, err := seal.StageKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(seal.StagedKeyFile(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("staged key file: %v, %v", fi, err)
	}
	// The commit reached the disk: the staged key opens, and replaces.
	k, _ := seal.NewKeyring(newKey)
	check, _ := k.CheckValue()
	got, err := seal.LoadKey(path, false, func(key []byte) error { return seal.OpensCheck(key, check) })
	if err != nil || !bytes.Equal(got, newKey) {
		t.Fatalf("LoadKey after an interrupted rekey: %v", err)
	}
	if onDisk, _ := seal.ReadKeyFile(path); !bytes.Equal(onDisk, newKey) {
		t.Error("the key file was not replaced by the staged one")
	}
	if _, err := os.Stat(seal.StagedKeyFile(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the staged key file stays: %v", err)
	}
	// A rekey that did not commit: the old key stays, the staged one goes.
	if _, err := seal.StageKey(path); err != nil {
		t.Fatal(err)
	}
	seal.DropStagedKey(path)
	if _, err := os.Stat(seal.StagedKeyFile(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("DropStagedKey left %v", err)
	}
}

func TestKeyPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if got := seal.KeyPath("", "/var/lib/ca.db.key"); got != "/var/lib/ca.db.key" {
		t.Errorf("no credential given: %s", got)
	}
	cred := filepath.Join(dir, seal.CredentialName)
	os.WriteFile(cred, []byte("x"), 0o600)
	if got := seal.KeyPath("", "/var/lib/ca.db.key"); got != cred {
		t.Errorf("with a credential: %s, want %s", got, cred)
	}
	if got := seal.KeyPath("/etc/ca.key", "/var/lib/ca.db.key"); got != "/etc/ca.key" {
		t.Errorf("configured: %s", got)
	}
	if files := seal.KeyFiles("/k"); len(files) != 2 || files[0] != "/k" || files[1] != seal.StagedKeyFile("/k") {
		t.Errorf("KeyFiles = %v", files)
	}
}

// A read-only open (a backup's check, with the live key file) between a
// rekey's commit and its replacing of the key file uses the staged key
// and leaves both files as they are: the rekey is the writer's to finish.
func TestLoadKeyReadOnly_StagedRekey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db.key")
	oldKey, err := seal.LoadKey(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := seal.StageKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := seal.NewKeyring(newKey)
	check, _ := k.CheckValue()
	opens := func(key []byte) error { return seal.OpensCheck(key, check) }
	got, err := seal.LoadKeyReadOnly(path, opens)
	if err != nil || !bytes.Equal(got, newKey) {
		t.Fatalf("LoadKeyReadOnly after a rekey's commit: %v", err)
	}
	if onDisk, _ := seal.ReadKeyFile(path); !bytes.Equal(onDisk, oldKey) {
		t.Error("a read-only load replaced the key file")
	}
	if staged, err := seal.ReadKeyFile(seal.StagedKeyFile(path)); err != nil || !bytes.Equal(staged, newKey) {
		t.Errorf("a read-only load moved the staged key: %v", err)
	}
	// The writer finishes it as before.
	if err := seal.CommitKey(path); err != nil {
		t.Fatalf("the rekey's own CommitKey after the read-only load: %v", err)
	}
	// The current key opens as usual; a missing key file is no key, and a
	// read-only load makes none.
	if got, err := seal.LoadKeyReadOnly(path, opens); err != nil || !bytes.Equal(got, newKey) {
		t.Errorf("LoadKeyReadOnly with the current key: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.key")
	if _, err := seal.LoadKeyReadOnly(missing, opens); !errors.Is(err, seal.ErrKeyFileMissing) {
		t.Errorf("no key file: %v, want ErrKeyFileMissing", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a read-only load made a key file: %v", err)
	}
}
