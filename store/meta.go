package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt trusts the headers of its two meta pages: a page id or type that
// is not what it expects is an assertion that panics, in the goroutine of
// its consistency check, where no recover can reach. So the meta pages
// are read and checked here before bbolt opens or checks a file.
//
// What is accepted: bbolt writes a commit's meta page last, after the
// commit's data is synced, to the page of the two that holds the older
// commit, and falls back to the other one when a meta page's checksum is
// wrong. A meta page whose checksum alone is wrong, beside a whole one,
// is a commit whose meta page was torn by a power cut, so never
// acknowledged; it is accepted, as bbolt accepts it, and the next commit
// rewrites that page. The page id, type, magic and version are the same in
// every commit's meta page, so no torn write changes them: when one of
// them is wrong, something other than bbolt wrote there, the rest of the
// file cannot be trusted either, and it is refused as damaged, as is a
// file whose meta pages are both wrong.

// The layout of a meta page (bbolt's internal/common): a 16-byte page
// header (id, flags, count, overflow) and then the meta fields, in the
// byte order of the machine that wrote them.
const (
	boltMagic    = 0xED0CDAED
	boltVersion  = 2
	metaFlag     = 0x04
	freelistFlag = 0x10
	pageHeader   = 16
	noFreelist   = ^uint64(0)
)

// boltMeta is what a meta page says.
type boltMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64 // the freelist's page, noFreelist if not synced
	pgid     uint64 // the high-water mark: pages in use are below it
	txid     uint64
}

// parseMeta reads the meta page id from p (one page or more); torn says
// the only fault is the checksum.
func parseMeta(p []byte, id uint64) (m boltMeta, torn bool, err error) {
	le := binary.NativeEndian
	if len(p) < pageHeader+64 {
		return m, false, fmt.Errorf("meta page %d is cut short", id)
	}
	if got := le.Uint64(p); got != id {
		return m, false, fmt.Errorf("meta page %d calls itself page %d", id, got)
	}
	if flags := le.Uint16(p[8:]); flags != metaFlag {
		return m, false, fmt.Errorf("meta page %d has the page type %#x", id, flags)
	}
	f := p[pageHeader:]
	if magic := le.Uint32(f); magic != boltMagic {
		return m, false, fmt.Errorf("meta page %d does not start as a bbolt file does (magic %#x)", id, magic)
	}
	if v := le.Uint32(f[4:]); v != boltVersion {
		return m, false, fmt.Errorf("meta page %d has bbolt format version %d, want %d", id, v, boltVersion)
	}
	m = boltMeta{
		pageSize: le.Uint32(f[8:]),
		root:     le.Uint64(f[16:]),
		freelist: le.Uint64(f[32:]),
		pgid:     le.Uint64(f[40:]),
		txid:     le.Uint64(f[48:]),
	}
	h := fnv.New64a()
	h.Write(f[:56])
	if h.Sum64() != le.Uint64(f[56:]) {
		return m, true, fmt.Errorf("meta page %d: its checksum does not match", id)
	}
	if m.pageSize < 1024 || m.pageSize&(m.pageSize-1) != 0 || m.root >= m.pgid || m.freelist >= m.pgid && m.freelist != noFreelist {
		return m, false, fmt.Errorf("meta page %d holds impossible values (page size %d, root %d, freelist %d, high-water mark %d)", id, m.pageSize, m.root, m.freelist, m.pgid)
	}
	return m, false, nil
}

// readMeta checks both meta pages of f and returns the one bbolt will use:
// the whole one with the higher transaction id. Damage is a *DamageError.
func readMeta(path string, f io.ReaderAt) (boltMeta, error) {
	damaged := func(problems ...error) error {
		e := &DamageError{Path: path}
		for _, p := range problems {
			e.Add(p.Error())
		}
		return e
	}
	buf := make([]byte, 4096)
	if n, err := f.ReadAt(buf, 0); n < pageHeader+64 {
		return boltMeta{}, damaged(fmt.Errorf("the file is too short to be a database (%d bytes): %v", n, err))
	}
	m0, torn0, err0 := parseMeta(buf, 0)
	// The second page's offset is the page size, which a damaged first
	// page does not give: try the sizes bbolt may use.
	sizes := []int64{int64(m0.pageSize)}
	if err0 != nil && !torn0 {
		sizes = []int64{int64(os.Getpagesize()), 4096, 1024, 2048, 8192, 16384, 32768, 65536}
	}
	var m1 boltMeta
	var torn1 bool
	var err1 error
	for _, size := range sizes {
		if n, _ := f.ReadAt(buf, size); n < pageHeader+64 {
			err1 = fmt.Errorf("meta page 1 is cut short")
			continue
		}
		if m1, torn1, err1 = parseMeta(buf, 1); err1 == nil || torn1 {
			break
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		return boltMeta{}, damaged(err0, err1)
	case err0 != nil && !torn0:
		return boltMeta{}, damaged(err0)
	case err1 != nil && !torn1:
		return boltMeta{}, damaged(err1)
	case err0 != nil:
		return m1, nil
	case err1 != nil:
		return m0, nil
	case m0.pageSize != m1.pageSize:
		return boltMeta{}, damaged(fmt.Errorf("the meta pages disagree on the page size (%d and %d)", m0.pageSize, m1.pageSize))
	case m1.txid > m0.txid:
		return m1, nil
	}
	return m0, nil
}

// checkMeta checks the meta pages of the file at path; a file that does
// not exist or is empty (bbolt makes a new one) passes.
func checkMeta(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		return err
	}
	_, err = readMeta(path, f)
	return err
}
