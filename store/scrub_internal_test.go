package store

import (
	"bytes"
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
