package etcd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/etcdstore"
	"certmaker/internal/testlog"
	"certmaker/storage"
	"certmaker/storage/seal"
)

// A rekey on one node while another writes: afterwards every secret opens
// with the new key alone, including those the other node sealed under the
// old one during the rekey; the other node, still on the old key file,
// refuses to write or read secrets and says so once, until an operator
// copies the new key file to it, which it then takes without a restart.
func TestRekey_AcrossNodes(t *testing.T) {
	a := openStore(t)
	keyB := filepath.Join(t.TempDir(), "seal.key")
	copyFile(t, a.KeyFile(), keyB)
	o := storeOptions(t)
	o.Prefix, o.KeyFile, o.Create = strings.TrimSuffix(a.Prefix(), "v1/"), keyB, false
	logB := &testlog.Buffer{}
	o.Logger = logB.Logger()
	b, err := etcdstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.PutRoot(storage.Root{Fingerprint: "root", CertDER: []byte("der"), KeyPKCS8: []byte("the root's key")}, true); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateUser(storage.User{Name: "alice", TokenHash: storage.HashToken("a")}); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateACMEEAB(storage.ACMEEAB{ID: "kid", Owner: "alice", Key: []byte("an EAB HMAC key of 32 bytes....."), Created: t0}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var certs []*storage.Certificate
	for range 300 {
		c := newCert(t, "alice", t0, 30, "a.lan")
		if err := a.PutCertificate(c); err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}

	// b issues while a rekeys, until b is refused for want of the new key.
	var refused atomic.Value
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5000 { // bounded, should the refusal never come
			c := newCert(t, "alice", t0, 30, "b.lan")
			err := b.PutCertificate(c)
			if err != nil {
				refused.Store(err)
				return
			}
			mu.Lock()
			certs = append(certs, c)
			mu.Unlock()
		}
	}()
	if err := a.Rekey(); err != nil {
		t.Fatal(err)
	}
	<-done
	err, _ = refused.Load().(error)
	if !errors.Is(err, storage.ErrKeyBehind) || !strings.Contains(err.Error(), keyB) {
		t.Fatalf("b writing a secret after a's rekey: %v, want ErrKeyBehind naming its key file", err)
	}
	if _, err := b.Certificate(certs[0].Serial); !errors.Is(err, storage.ErrKeyBehind) {
		t.Fatalf("b reading a secret sealed anew: %v, want ErrKeyBehind", err)
	}
	if n := countLines(t, logB, "ERROR", "rekeyed on another node"); n != 1 {
		t.Errorf("b logged the rekey %d times, want once:\n%s", n, logB)
	}

	// Every secret opens with the new key alone: a node with it reads them.
	newKey := readFile(t, a.KeyFile())
	if old := readFile(t, keyB); bytes.Equal(old, newKey) {
		t.Fatal("the key file did not change")
	}
	if _, err := os.Stat(seal.StagedKeyFile(a.KeyFile())); err == nil {
		t.Error("the staged key file is still there")
	}
	o3 := o
	o3.KeyFile, o3.Logger = filepath.Join(t.TempDir(), "seal.key"), nil
	copyFile(t, a.KeyFile(), o3.KeyFile)
	c3, err := etcdstore.Open(o3)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	t.Logf("%d certificates, %d of them written by b during the rekey", len(certs), len(certs)-300)
	for _, c := range certs {
		got, err := c3.Certificate(c.Serial)
		if err != nil || !bytes.Equal(got.KeyPKCS8, c.KeyPKCS8) {
			t.Fatalf("certificate %s with the new key alone: %v", c.Serial, err)
		}
	}
	if k, err := c3.ACMEEABKey("kid"); err != nil || string(k.Key) != "an EAB HMAC key of 32 bytes....." {
		t.Fatalf("the EAB key with the new key alone: %v", err)
	}
	if roots, _, err := c3.Roots(); err != nil || len(roots) != 1 || string(roots[0].KeyPKCS8) != "the root's key" {
		t.Fatalf("the root's key with the new key alone: %v", err)
	}
	// The old key file opens the store no more.
	o4 := o3
	o4.KeyFile = filepath.Join(t.TempDir(), "old.key")
	copyFile(t, keyB, o4.KeyFile)
	if _, err := etcdstore.Open(o4); !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("opening with the old key file: %v, want ErrWrongKey", err)
	}

	// The operator copies the new key file to b: b goes on, unrestarted.
	copyFile(t, a.KeyFile(), keyB)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := newCert(t, "alice", t0, 30, "b.lan")
		err := b.PutCertificate(c)
		if err == nil {
			if got, err := c3.Certificate(c.Serial); err != nil || !bytes.Equal(got.KeyPKCS8, c.KeyPKCS8) {
				t.Fatalf("b's certificate after it took the new key: %v", err)
			}
			break
		}
		if !errors.Is(err, storage.ErrKeyBehind) || time.Now().After(deadline) {
			t.Fatalf("b with the new key file: %v", err)
		}
	}
	if got, err := b.Certificate(certs[0].Serial); err != nil || !bytes.Equal(got.KeyPKCS8, certs[0].KeyPKCS8) {
		t.Fatalf("b reading a secret with the new key file: %v", err)
	}
	if n := countLines(t, logB, "INFO", "new key file"); n != 1 {
		t.Errorf("b logged taking the new key %d times, want once:\n%s", n, logB)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, readFile(t, from), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
