package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// rssFileKB is the process's resident file-backed memory (RssFile).
func rssFileKB(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "RssFile:"); ok {
			var kb int
			fmt.Sscan(v, &kb)
			return kb
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseMapped: reading 24 MB of records makes them resident through
// bbolt's mmap; ReleaseMapped gives that back, and every record reads the
// same afterwards.
func TestReleaseMapped(t *testing.T) {
	db, err := Open(t.TempDir()+"/rss.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n, size = 6000, 4000
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("rss"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(fmt.Appendf(nil, "%06d", i), val(i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		t.Helper()
		db.bolt.View(func(tx *bolt.Tx) error {
			i := 0
			tx.Bucket([]byte("rss")).ForEach(func(k, v []byte) error {
				if !bytes.Equal(v, val(i)) {
					t.Fatalf("record %s changed", k)
				}
				i++
				return nil
			})
			if i != n {
				t.Fatalf("read %d records, want %d", i, n)
			}
			return nil
		})
	}
	readAll()
	before := rssFileKB(t)
	if err := db.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	if before-after < n*size/1024/2 {
		t.Errorf("RssFile %d kB before ReleaseMapped, %d kB after: want at least %d kB released", before, after, n*size/1024/2)
	}
	readAll()
}
