package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certmaker/store"
)

// damageFixture is a closed database with users and a few hundred
// certificates, so that its buckets span branch and leaf pages.
func damageFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.db")
	db, err := store.Open(path, store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := db.CreateUser(store.User{Name: fmt.Sprintf("user%d", i), Created: time.Now(), TokenHash: randomBytes(32)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		if err := db.PutCertificate(newCert(fmt.Sprintf("user%d", i%3))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// boltLayout is what the newer of the two meta pages says.
type boltLayout struct {
	pageSize                 int
	root, freelist, highMark uint64
}

func readLayout(t *testing.T, b []byte) boltLayout {
	t.Helper()
	var best boltLayout
	var bestTx uint64
	for _, off := range []int{0, 4096} {
		m := b[off+16:]
		if binary.LittleEndian.Uint32(m) != 0xED0CDAED {
			continue
		}
		// magic, version, page size, flags, root bucket (pgid, sequence),
		// freelist, high-water mark, txid, checksum
		l := boltLayout{
			pageSize: int(binary.LittleEndian.Uint32(m[8:])),
			root:     binary.LittleEndian.Uint64(m[16:]),
			freelist: binary.LittleEndian.Uint64(m[32:]),
			highMark: binary.LittleEndian.Uint64(m[40:]),
		}
		if tx := binary.LittleEndian.Uint64(m[48:]); tx >= bestTx {
			best, bestTx = l, tx
		}
	}
	if best.pageSize != 4096 {
		t.Fatalf("unexpected layout %+v", best)
	}
	return best
}

// damaged writes a copy of the file at src with n bytes inverted at off,
// or cut to off bytes when n is 0.
func damaged(t *testing.T, src string, off, n int) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		b = b[:off]
	}
	for i := off; i < off+n; i++ {
		b[i] ^= 0xff
	}
	dst := filepath.Join(t.TempDir(), fmt.Sprintf("damaged-%d-%d.db", off, n))
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	copyKeyFile(t, src, dst)
	return dst
}

// wantDamaged opens path both ways and expects ErrDamaged naming the file,
// never a panic.
func wantDamaged(t *testing.T, path string) {
	t.Helper()
	for _, ro := range []bool{false, true} {
		db, err := openNoPanic(t, path, store.Options{Timeout: time.Second, ReadOnly: ro})
		if err == nil {
			db.Close()
			t.Errorf("Open(read-only %v) of a damaged file succeeded", ro)
			continue
		}
		if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(read-only %v): %v; want ErrDamaged naming the file", ro, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(read-only %v): %q is more than one line", ro, err)
		}
	}
}

func TestOpen_Damaged(t *testing.T) {
	src := damageFixture(t)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	l := readLayout(t, b)
	ps := l.pageSize
	t.Logf("layout: %+v, %d bytes", l, len(b))

	t.Run("Healthy", func(t *testing.T) {
		db, err := openNoPanic(t, src, store.Options{Timeout: time.Second, ReadOnly: true, Check: store.CheckAlways})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	})
	cases := []struct {
		name    string
		off, n  int
		comment string
	}{
		{"FreelistPageType", int(l.freelist)*ps + 8, 2, "the freelist page's type"},
		{"FreelistIDs", int(l.freelist)*ps + 16, 64, "free page ids that are in use"},
		{"BothMetas", 16, 4, "meta 0's magic (meta 1 below)"},
		{"RootPageHeader", int(l.root) * ps, 8, "the root bucket page's id"},
		{"RootPageElements", int(l.root)*ps + 16, 32, "the root bucket page's element headers"},
		{"TruncatedLastPage", int(l.highMark-1) * ps, 0, "a copy cut short by a page"},
		{"TruncatedHalf", int(l.highMark) * ps / 2, 0, "a copy cut in half"},
		{"TruncatedMidPage", 3*ps + 100, 0, "a copy cut inside a page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := damaged(t, src, c.off, c.n)
			if c.name == "BothMetas" {
				path = damaged(t, path, ps+16, 4)
			}
			wantDamaged(t, path)
		})
	}

	// Any page: Open's check and a full Check agree, and neither panics.
	t.Run("EveryPage", func(t *testing.T) {
		found := 0
		for p := 2; p < int(l.highMark); p++ {
			for _, off := range []int{16, 40} {
				path := damaged(t, src, p*ps+off, 16)
				db, err := openNoPanic(t, path, store.Options{Timeout: time.Second})
				if err != nil {
					if !errors.Is(err, store.ErrDamaged) {
						t.Errorf("page %d+%d: %v, want ErrDamaged", p, off, err)
					}
					found++
					continue
				}
				if err := db.Check(); err != nil {
					t.Errorf("page %d+%d: Open found nothing but Check did: %v", p, off, err)
				}
				db.Close()
			}
		}
		t.Logf("%d of %d damaged copies refused", found, 2*(int(l.highMark)-2))
		if found < 10 {
			t.Errorf("only %d damaged copies refused: the check proves little", found)
		}
	})
}

// TestGuard_LazyDamage: a file too large for Open's check (here: told to
// skip it) panics inside bbolt only when the damaged page is read; Guard
// turns that into ErrDamaged, and leaves other panics alone.
func TestGuard_LazyDamage(t *testing.T) {
	src := damageFixture(t)
	// The certificates' bucket's root page: Open does not read it.
	b, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var page int
	b.View(func(tx *bolt.Tx) error { page = int(tx.Bucket([]byte("certs")).Root()); return nil })
	b.Close()
	if page == 0 {
		t.Fatal("the certs bucket is inline: the fixture is too small")
	}
	path := damaged(t, src, page*4096+16, 32)
	db, err := openNoPanic(t, path, store.Options{Timeout: time.Second, Check: store.CheckNever})
	if err != nil {
		t.Fatalf("Open without the check: %v", err)
	}
	defer db.Close()
	err = store.Guard(path, func() error {
		_, _, err := db.ListCertificates(store.ListQuery{Limit: 1000})
		return err
	})
	if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Errorf("listing certificates on a damaged page under Guard: %v, want ErrDamaged naming the file", err)
	}

	defer func() {
		if r := recover(); r != "a bug, not damage" {
			t.Errorf("Guard swallowed or changed a panic of ours: %v", r)
		}
	}()
	store.Guard(path, func() error { panic("a bug, not damage") })
}
