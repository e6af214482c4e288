package etcd

import (
	"crypto/rand"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"certmaker/app"
	"certmaker/config"
	"certmaker/storage"
	"certmaker/store"
)

// t0 is when the tests' certificates are issued.
var t0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

// newCert makes a certificate record: random bytes stand for the DER and
// the key, which the store keeps without parsing.
func newCert(t testing.TB, owner string, created time.Time, days int, names ...string) *storage.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 136))
	if err != nil {
		t.Fatal(err)
	}
	serial.Add(serial, big.NewInt(1))
	der, key := make([]byte, 900), make([]byte, 130)
	rand.Read(der)
	rand.Read(key)
	return &storage.Certificate{
		Serial: serial, DER: der, Owner: owner, Root: "root-a", KeyPKCS8: key, KeyType: "ecdsa-p256",
		Names: names, NotAfter: created.Add(time.Duration(days) * 24 * time.Hour).Add(time.Duration(mrand.IntN(3600)) * time.Second),
		Created: created,
	}
}

// manyNames is n names under one domain.
func manyNames(n int, domain string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("host%03d.%s", i, domain)
	}
	return out
}

// openBolt opens a bbolt store in t.TempDir() sealed with keyFile.
func openBolt(t *testing.T, keyFile string) *store.DB {
	t.Helper()
	cfg := config.Default()
	cfg.Store.Path, cfg.Store.KeyFile = filepath.Join(t.TempDir(), "ca.db"), keyFile
	s, err := app.OpenStore(cfg, app.OpenOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*store.DB)
}
