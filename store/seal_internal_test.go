package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/storage/codec"
	"certmaker/storage/seal"
)

// secrets is one of each secret the file keeps, by what it is.
type secrets struct {
	cert  *Certificate
	root  Root
	eab   ACMEEAB
	nonce []byte
}

func randomSecret(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func newSecrets() secrets {
	now := time.Now().UTC()
	return secrets{
		cert: &Certificate{Serial: big.NewInt(0).SetBytes(randomSecret(16)), DER: randomSecret(300), Owner: "alice", Root: "ab12",
			KeyPKCS8: randomSecret(138), KeyType: "ecdsa-p256", Names: []string{"a.home.lan"}, NotAfter: now.Add(time.Hour), Created: now},
		root:  Root{Fingerprint: "ab12", CertDER: randomSecret(400), KeyPKCS8: randomSecret(138), Created: now},
		eab:   ACMEEAB{ID: "kid1", Owner: "alice", Key: randomSecret(32), Created: now},
		nonce: randomSecret(32),
	}
}

func (s secrets) each() map[string][]byte {
	return map[string][]byte{"a certificate's key": s.cert.KeyPKCS8, "a root's key": s.root.KeyPKCS8, "an EAB key": s.eab.Key, "the ACME nonce key": s.nonce}
}

// assertNotInFile reads the whole file, free pages included, and fails
// for every secret found in it in clear.
func assertNotInFile(t *testing.T, path string, s secrets) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for what, v := range s.each() {
		// A prefix is enough to find it; a whole value proves nothing more.
		if bytes.Contains(raw, v[:16]) {
			t.Errorf("%s is in %s in clear", what, filepath.Base(path))
		}
	}
}

// assertReadBack checks that db gives every secret back as it was.
func assertReadBack(t *testing.T, db *DB, s secrets) {
	t.Helper()
	c, err := db.Certificate(s.cert.Serial)
	if err != nil || !bytes.Equal(c.KeyPKCS8, s.cert.KeyPKCS8) {
		t.Errorf("certificate key read back: %v (equal %v)", err, bytes.Equal(c.KeyPKCS8, s.cert.KeyPKCS8))
	}
	roots, _, err := db.Roots()
	if err != nil || len(roots) != 1 || !bytes.Equal(roots[0].KeyPKCS8, s.root.KeyPKCS8) {
		t.Errorf("root key read back: %v", err)
	}
	k, err := db.ACMEEABKey(s.eab.ID)
	if err != nil || !bytes.Equal(k.Key, s.eab.Key) {
		t.Errorf("EAB key read back: %v", err)
	}
	page, _, err := db.ListCertificates(ListQuery{Limit: 10})
	found := false
	for _, c := range page {
		found = found || c.Serial.Cmp(s.cert.Serial) == 0 && bytes.Equal(c.KeyPKCS8, s.cert.KeyPKCS8)
	}
	if err != nil || !found {
		t.Errorf("certificate key in a listing: %v (found %v)", err, found)
	}
}

// TestSeal_NothingInClear: every secret written through the store is
// sealed before it reaches the file, and opens to itself again.
func TestSeal_NothingInClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := newSecrets()
	if err := db.CreateUser(User{Name: "alice", Created: time.Now(), TokenHash: randomSecret(32)}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCertificate(s.cert); err != nil {
		t.Fatal(err)
	}
	if err := db.PutRoot(s.root, true); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateACMEEAB(s.eab); err != nil {
		t.Fatal(err)
	}
	if s.nonce, err = db.ACMENonceKey(); err != nil {
		t.Fatal(err)
	}
	// Revoking rewrites the record: its key stays sealed.
	if _, err := db.Revoke(s.cert.Serial, time.Now(), 1); err != nil {
		t.Fatal(err)
	}
	assertReadBack(t, db, s)
	db.Close()
	assertNotInFile(t, path, s)
	fi, err := os.Stat(path + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file beside the database: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	db, err = Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	assertReadBack(t, db, s)
}

// TestSeal_KeyFile: the file opens only with its own key file, and says so
// in one line when it is missing or another.
func TestSeal_KeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutRoot(newSecrets().root, true); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A copy without its key file: a stolen file or a backup.
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	b, _ := os.ReadFile(path)
	os.WriteFile(copyPath, b, 0o600)
	_, err = Open(copyPath, Options{Timeout: time.Second})
	if !errors.Is(err, seal.ErrKeyFileMissing) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), copyPath+".key") {
		t.Errorf("Open without the key file: %v; want one line naming the key file", err)
	}
	if _, err := os.Stat(copyPath + ".key"); !errors.Is(err, os.ErrNotExist) {
		t.Error("Open made a new key file for a sealed database")
	}
	// Another database's key file.
	other := filepath.Join(t.TempDir(), "other.db")
	odb, err := Open(other, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	odb.Close()
	_, err = Open(copyPath, Options{Timeout: time.Second, KeyFile: other + ".key"})
	if !errors.Is(err, seal.ErrWrongKey) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open with another database's key file: %v; want seal.ErrWrongKey in one line", err)
	}
	// Its own key file, named in the options (as [store] key_file does).
	db, err = Open(copyPath, Options{Timeout: time.Second, KeyFile: path + ".key"})
	if err != nil {
		t.Fatalf("Open with its key file named: %v", err)
	}
	db.Close()
}

// TestSeal_MovedValueDoesNotOpen: a sealed key copied into another
// record's place does not open there: the record's identity is bound in.
func TestSeal_MovedValueDoesNotOpen(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "ca.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := newSecrets().cert, newSecrets().cert
	for _, c := range []*Certificate{a, b} {
		if err := db.PutCertificate(c); err != nil {
			t.Fatal(err)
		}
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		var ca, cb Certificate
		ca.Serial, cb.Serial = a.Serial, b.Serial
		if err := getCertificate(tx, a.Serial, &ca); err != nil {
			return err
		}
		if err := getCertificate(tx, b.Serial, &cb); err != nil {
			return err
		}
		cb.KeyPKCS8 = ca.KeyPKCS8
		return tx.Bucket(bucketCerts).Put(serialKey(b.Serial), codec.EncodeCertificate(&cb))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Certificate(b.Serial); err == nil {
		t.Error("a key sealed for one certificate opened as another's")
	}
	if _, err := db.Certificate(a.Serial); err != nil {
		t.Errorf("the certificate it was sealed for: %v", err)
	}
}

// writeSchema5 makes a file as certmaker before sealing left it: every
// secret in clear.
func writeSchema5(t *testing.T, path string, s secrets) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketUsers).Put([]byte("alice"), mustEncode(t, User{Name: "alice", TokenHash: randomSecret(32)})); err != nil {
			return err
		}
		if err := putCertificate(tx, s.cert, codec.EncodeCertificate(s.cert)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRoots).Put([]byte(s.root.Fingerprint), mustEncode(t, s.root)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keyActiveRoot, []byte(s.root.Fingerprint)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketACMEEAB).Put([]byte(s.eab.ID), mustEncode(t, s.eab)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketACMEMeta).Put(keyACMENonceKey, s.nonce); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 5))
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

func mustEncode[T any](t *testing.T, v T) []byte {
	t.Helper()
	b, err := codec.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSeal_MigratesOlderFile: a file from before sealing is sealed on its
// first open, its key file made, its secrets given back as they were, and
// no trace of them left in clear, not even in freed pages.
func TestSeal_MigratesOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	s := newSecrets()
	writeSchema5(t, path, s)
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, s.cert.KeyPKCS8[:16]) {
		t.Fatal("the fixture does not hold the certificate key in clear: the test proves nothing")
	}
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Closed before anything else writes, which could reuse (and so hide)
	// a freed page that still holds a secret.
	db.Close()
	assertNotInFile(t, path, s)
	if db, err = Open(path, Options{Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	assertReadBack(t, db, s)
	nonce, err := db.ACMENonceKey()
	if err != nil || !bytes.Equal(nonce, s.nonce) {
		t.Errorf("the nonce key after migration: %v (equal %v)", err, bytes.Equal(nonce, s.nonce))
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	assertNotInFile(t, path, s)
	if _, err := os.Stat(path + ".key"); err != nil {
		t.Errorf("no key file after sealing: %v", err)
	}
	if _, err := os.Stat(path + ".sealing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rewrite's temporary file is left: %v", err)
	}
}

// TestSeal_RewriteMarkerResumes: a file whose rewrite marker is set (a
// rekey or migration committed, and the erase of the pages it freed did
// not happen: a crash, a full disk) has its free pages erased by the next
// Open, so no secret stays behind in them, nor in a backup.
func TestSeal_RewriteMarkerResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	secret := randomSecret(64)
	junk := bytes.Repeat(secret, 1024) // overflow pages, freed whole
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	put := func(fn func(*bolt.Bucket) error) {
		t.Helper()
		if err := b.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketMeta)) }); err != nil {
			t.Fatal(err)
		}
	}
	put(func(m *bolt.Bucket) error { return m.Put([]byte("junk"), junk) })
	put(func(m *bolt.Bucket) error {
		if err := m.Delete([]byte("junk")); err != nil {
			return err
		}
		return m.Put(keyRewrite, []byte{1})
	})
	b.Close()
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, secret) {
		t.Fatal("the freed pages do not hold the secret: the test proves nothing")
	}
	db, err = Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, secret) {
		t.Error("Open left a freed page with the secret in the file")
	}
	db.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyRewrite) != nil {
			t.Error("the rewrite marker stays after the erase")
		}
		return nil
	})
	if err := db.Check(); err != nil {
		t.Errorf("the file after the erase: %v", err)
	}
}

// TestSeal_Rekey: a new key seals everything, the old key file no longer
// opens the file, and a rekey cut off before its key file was replaced is
// finished by the next Open.
func TestSeal_Rekey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := newSecrets()
	for _, err := range []error{db.CreateUser(User{Name: "alice", Created: time.Now(), TokenHash: randomSecret(32)}), db.PutCertificate(s.cert), db.PutRoot(s.root, true), db.CreateACMEEAB(s.eab)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.nonce, err = db.ACMENonceKey(); err != nil {
		t.Fatal(err)
	}
	oldKey, _ := os.ReadFile(path + ".key")
	var oldSealed []byte
	db.bolt.View(func(tx *bolt.Tx) error {
		var c Certificate
		c.Serial = s.cert.Serial
		if err := getCertificate(tx, s.cert.Serial, &c); err != nil {
			t.Fatal(err)
		}
		oldSealed = c.KeyPKCS8
		return nil
	})
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, oldSealed[seal.Overhead-16:]) {
		t.Fatal("the sealed value is not in the file: the check below proves nothing")
	}
	if err := db.Rekey(); err != nil {
		t.Fatal(err)
	}
	newKey, _ := os.ReadFile(path + ".key")
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("rekey left the key file as it was")
	}
	// While the store is open: no value sealed with the old key stays
	// behind in a freed page, nor goes into a backup.
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, oldSealed[seal.Overhead-16:]) {
		t.Error("after Rekey, a key sealed with the replaced key is still in the file")
	}
	var bk bytes.Buffer
	if _, err := db.Backup(&bk); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bk.Bytes(), oldSealed[seal.Overhead-16:]) {
		t.Error("after Rekey, a backup holds a key sealed with the replaced key")
	}
	assertReadBack(t, db, s)
	if err := db.Check(); err != nil {
		t.Errorf("the file after Rekey: %v", err)
	}
	db.Close()
	if db, err = Open(path, Options{Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	// Writes after the rekey are sealed with the new key.
	later := newSecrets().cert
	if err := db.PutCertificate(later); err != nil {
		t.Fatal(err)
	}
	db.Close()

	os.WriteFile(filepath.Join(dir, "old.key"), oldKey, 0o600)
	if _, err := Open(path, Options{Timeout: time.Second, KeyFile: filepath.Join(dir, "old.key")}); !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("the old key file after a rekey: %v, want seal.ErrWrongKey", err)
	}
	// Cut off after the commit: the new key still waits beside the old one.
	os.WriteFile(seal.StagedKeyFile(path+".key"), newKey, 0o600)
	os.WriteFile(path+".key", oldKey, 0o600)
	db, err = Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("Open after an interrupted rekey: %v", err)
	}
	defer db.Close()
	assertReadBack(t, db, s)
	if _, err := db.Certificate(later.Serial); err != nil {
		t.Errorf("a certificate written after the rekey: %v", err)
	}
	if k, _ := os.ReadFile(path + ".key"); !bytes.Equal(k, newKey) {
		t.Error("Open did not put the new key in the key file's place")
	}
}
