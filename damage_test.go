package main

import (
	binenc "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestBinary_DamagedDatabase flips bytes in copies of a real database (the
// freelist, both meta pages, the root page, data pages) and cuts copies
// short: serve and an admin command each answer one line that names the
// file, says it is damaged and where to go next, never a stack trace; check
// reports the damage and exits non-zero, and says ok on the healthy file.
func TestBinary_DamagedDatabase(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	for i := range 40 {
		code, _, body := srv.Do(t, "POST", "/api/certificate/request", token, fmt.Sprintf(`{"domains":["d%d.home.lan"]}`, i))
		if code != 200 {
			t.Fatalf("request: %d %s", code, body)
		}
	}
	srv.Stop(t)
	src := filepath.Join(dir, "certmaker.db")

	out, errOut, err := binary.Run(t, dir, "check")
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("check on the healthy file: %v\nstdout %q\nstderr %q", err, out, errOut)
	}

	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	meta := activeMeta(t, orig)
	const ps = 4096
	certs, users := bucketPages(t, src)
	t.Logf("meta %+v, certs bucket page %d, users bucket page %d, %d bytes", meta, certs, users, len(orig))

	type flip struct{ off, n int }
	cases := []struct {
		name  string
		flips []flip
		cut   int // keep only this many bytes, if > 0
	}{
		{name: "FreelistPage", flips: []flip{{int(meta.freelist)*ps + 8, 2}}},
		{name: "BothMetaPages", flips: []flip{{16, 4}, {ps + 16, 4}}},
		// The page headers of the meta pages: an id or type no commit
		// ever writes there (bbolt panicked in its check's goroutine).
		{name: "MetaPageID", flips: []flip{{0, 8}}},
		{name: "SecondMetaPageID", flips: []flip{{ps, 8}}},
		{name: "MetaPageType", flips: []flip{{8, 2}}},
		{name: "MetaMagic", flips: []flip{{ps + 16, 4}}},
		{name: "RootPage", flips: []flip{{int(meta.root)*ps + 16, 32}}},
		{name: "CertificatesPage", flips: []flip{{certs*ps + 16, 32}}},
		{name: "CertificatesPageHeader", flips: []flip{{certs * ps, 8}}},
		{name: "TruncatedByAPage", cut: int(meta.highMark-1) * ps},
		{name: "TruncatedHalf", cut: int(meta.highMark) * ps / 2},
	}
	if users > 0 {
		cases = append(cases, struct {
			name  string
			flips []flip
			cut   int
		}{name: "UsersPage", flips: []flip{{users*ps + 16, 32}}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := append([]byte(nil), orig...)
			for _, f := range c.flips {
				for i := f.off; i < f.off+f.n; i++ {
					b[i] ^= 0xff
				}
			}
			if c.cut > 0 {
				b = b[:c.cut]
			}
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, "certmaker.db"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"user", "list"},
				{"cert", "list"},
				{"serve", "--listen", "127.0.0.1:0"},
			} {
				_, errOut, err := binary.Run(t, d, args...)
				if err == nil {
					t.Errorf("%v on a damaged file succeeded", args)
				}
				wantDamageLine(t, args, errOut)
				if !strings.Contains(errOut, "certmaker --db certmaker.db check") || !strings.Contains(errOut, "docs/backup.md") {
					t.Errorf("%v: %q does not point to `certmaker check` and the restore procedure", args, errOut)
				}
			}
			out, errOut, err := binary.Run(t, d, "check")
			if err == nil {
				t.Errorf("check on a damaged file exited 0:\n%s", out)
			}
			if !strings.Contains(out, "damaged") || strings.Contains(out, ": ok") {
				t.Errorf("check's report: %q", out)
			}
			wantDamageLine(t, []string{"check"}, errOut)
		})
	}
}

// wantDamageLine: one line on stderr, naming the file and its damage, no
// panic and no stack trace.
func wantDamageLine(t *testing.T, args []string, errOut string) {
	t.Helper()
	if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine") || strings.Contains(errOut, ".go:") {
		t.Errorf("%v: a panic or stack trace on stderr:\n%s", args, errOut)
		return
	}
	if lines := strings.Count(strings.TrimSpace(errOut), "\n"); errOut == "" || lines != 0 {
		t.Errorf("%v: stderr %q, want one line", args, errOut)
	}
	if !strings.Contains(errOut, "certmaker.db") || !strings.Contains(errOut, "damaged") {
		t.Errorf("%v: stderr %q does not say that certmaker.db is damaged", args, errOut)
	}
}

type boltMeta struct{ root, freelist, highMark uint64 }

// activeMeta reads the newer valid meta page as bbolt lays it out: magic,
// version, page size, flags, root bucket (page, sequence), freelist page,
// high-water mark, transaction id.
func activeMeta(t *testing.T, b []byte) boltMeta {
	t.Helper()
	var best boltMeta
	var bestTx uint64
	for _, off := range []int{0, 4096} {
		m := b[off+16:]
		if binenc.LittleEndian.Uint32(m) != 0xED0CDAED || binenc.LittleEndian.Uint32(m[8:]) != 4096 {
			t.Fatalf("meta page at %d is not a 4 KiB bbolt meta page", off)
		}
		if tx := binenc.LittleEndian.Uint64(m[48:]); tx >= bestTx {
			best = boltMeta{binenc.LittleEndian.Uint64(m[16:]), binenc.LittleEndian.Uint64(m[32:]), binenc.LittleEndian.Uint64(m[40:])}
			bestTx = tx
		}
	}
	return best
}

// bucketPages returns the root pages of the certificates' and the users'
// buckets (0 for an inline bucket).
func bucketPages(t *testing.T, path string) (certs, users int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		certs = int(tx.Bucket([]byte("certs")).Root())
		users = int(tx.Bucket([]byte("users")).Root())
		return nil
	})
	if certs == 0 {
		t.Fatal("the certificates' bucket is inline: issue more certificates")
	}
	return certs, users
}

// TestBinary_DamagedMetaHeader is the reproduction of the review: eight
// bytes written over the start of the file (meta page 0's page id) made
// every command, check and serve included, panic with a stack trace.
func TestBinary_DamagedMetaHeader(t *testing.T) {
	dir := t.TempDir()
	binary.Must(t, dir, "init")
	f, err := os.OpenFile(filepath.Join(dir, "certmaker.db"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("AAAAAAAA"), 0)
	f.Close()
	for _, args := range [][]string{{"user", "list"}, {"status"}, {"check"}, {"backup", filepath.Join(dir, "bk.db")}, {"serve", "--listen", "127.0.0.1:0"}} {
		_, errOut, err := binary.Run(t, dir, args...)
		if err == nil {
			t.Errorf("%v on a file with a damaged meta page succeeded", args)
		}
		wantDamageLine(t, args, errOut)
		if args[0] != "check" && (!strings.Contains(errOut, "certmaker --db certmaker.db check") || !strings.Contains(errOut, "docs/backup.md")) {
			t.Errorf("%v: %q does not point to `certmaker check` and the restore procedure", args, errOut)
		}
	}
}

// TestBinary_TornMetaPage: a commit's meta page written only in part (a
// power cut during the write) is a commit that was never acknowledged;
// bbolt falls back to the other meta page, the commit before, and so does
// certmaker: the file opens and checks clean, and the next commit
// rewrites the torn page.
func TestBinary_TornMetaPage(t *testing.T) {
	dir := t.TempDir()
	binary.Must(t, dir, "init")
	binary.Must(t, dir, "user", "add", "alice")
	path := filepath.Join(dir, "certmaker.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Tear the newer meta page: its transaction id and checksum.
	newer := 0
	if binenc.LittleEndian.Uint64(b[4096+16+48:]) > binenc.LittleEndian.Uint64(b[16+48:]) {
		newer = 4096
	}
	for i := newer + 16 + 48; i < newer+16+64; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := binary.Run(t, dir, "check"); err != nil || !strings.Contains(out, ": ok") {
		t.Errorf("check on a file with one torn meta page: %v\n%s%s", err, out, errOut)
	}
	if out := binary.Must(t, dir, "user", "list"); !strings.Contains(out, "admin") {
		t.Errorf("user list on a file with one torn meta page:\n%s", out)
	}
}
