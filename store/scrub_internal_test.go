package store

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestScrub_WhileServing: rekeys (each erasing the free pages) while
// writers issue, readers read keys back and a backup streams: every
// certificate written is there with its key, and the file checks clean.
func TestScrub_WhileServing(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "ca.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		mu      sync.Mutex
		written []*Certificate
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c := benchCert()
				if err := db.PutCertificate(c); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				written = append(written, c)
				mu.Unlock()
				got, err := db.Certificate(c.Serial)
				if err != nil || !bytes.Equal(got.KeyPKCS8, c.KeyPKCS8) {
					t.Errorf("reading back %s: %v", c.Serial, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := db.Backup(io.Discard); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		if err := db.Rekey(); err != nil {
			t.Error(err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := db.Check(); err != nil {
		t.Fatalf("the file after rekeys under load: %v", err)
	}
	for _, c := range written {
		got, err := db.Certificate(c.Serial)
		if err != nil || !bytes.Equal(got.KeyPKCS8, c.KeyPKCS8) {
			t.Fatalf("certificate %s after the rekeys: %v", c.Serial, err)
		}
	}
	t.Logf("%d certificates written during 5 rekeys", len(written))
}

// TestDB_BackupLiveRecordsOnly: a backup is a copy of the live records,
// never of the free pages, whatever they hold.
func TestDB_BackupLiveRecordsOnly(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "ca.db"), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret := bytes.Repeat([]byte("freed but not erased "), 2000)
	for _, fn := range []func(*bolt.Bucket) error{
		func(m *bolt.Bucket) error { return m.Put([]byte("junk"), secret) },
		func(m *bolt.Bucket) error { return m.Delete([]byte("junk")) },
	} {
		if err := db.update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketMeta)) }); err != nil {
			t.Fatal(err)
		}
	}
	if raw, _ := os.ReadFile(db.Path()); !bytes.Contains(raw, secret[:200]) {
		t.Fatal("the free pages do not hold the deleted value: the test proves nothing")
	}
	var bk bytes.Buffer
	if _, err := db.Backup(&bk); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bk.Bytes(), secret[:200]) {
		t.Error("the backup holds a value deleted before it")
	}
	path := filepath.Join(t.TempDir(), "bk.db")
	if err := os.WriteFile(path, bk.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	copyKey, _ := os.ReadFile(db.KeyFile())
	os.WriteFile(path+".key", copyKey, 0o600)
	b, err := Open(path, Options{ReadOnly: true, Timeout: time.Second, Check: CheckAlways})
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	b.Close()
}

// TestScrub_DroppedRootKey: the commit that drops a root's key (`root
// offline`) marks the file for erasing, so a crash before the rekey that
// follows leaves the sealed key in no page once the file is opened again:
// without the marker, the key the file still opens with would open it.
func TestScrub_DroppedRootKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := Root{Fingerprint: "ab12", CertDER: randomSecret(400), KeyPKCS8: randomSecret(138), Created: time.Now()}
	if err := db.PutRoot(r, true); err != nil {
		t.Fatal(err)
	}
	var sealed []byte // as the record holds it: JSON's base64
	db.view(func(tx *bolt.Tx) error {
		var stored Root
		err := getRecord(tx, bucketRoots, "root", r.Fingerprint, &stored)
		sealed = []byte(base64.StdEncoding.EncodeToString(stored.KeyPKCS8))
		return err
	})
	if len(sealed) == 0 {
		t.Fatal("no sealed key stored")
	}
	if _, err := db.UpdateRoot(r.Fingerprint, func(r *Root) error { r.KeyPKCS8 = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	marked := func(db *DB) bool {
		var m bool
		db.view(func(tx *bolt.Tx) error { m = tx.Bucket(bucketMeta).Get(keyRewrite) != nil; return nil })
		return m
	}
	if !marked(db) {
		t.Error("the commit that dropped the root key left no rewrite marker")
	}
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, sealed) {
		t.Fatal("the freed pages do not hold the sealed key: the test proves nothing")
	}
	// A crash now, before the rekey: the next open erases.
	db.Close()
	db, err = Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if marked(db) {
		t.Error("the marker stays after the open that should have erased")
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, sealed) {
		t.Error("the sealed root key is still in the file after the next open")
	}
}
