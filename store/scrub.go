package store

import (
	"encoding/binary"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// bbolt frees a page a commit no longer needs but does not erase it, and
// a backup of the file copied free pages as they were. After a rekey the
// freed pages hold every secret sealed under the retired key, which the
// key file from before opens; after `root offline` drops a root's key
// (and before the rekey that follows) they hold that key sealed under the
// current one; after the migration that first seals an older file they
// hold its secrets in clear. Each of those commits sets the rewrite marker. scrub overwrites every free page with zeros while
// the server runs, as soon as the change that freed them has committed.
//
// A free page may still be read by a transaction that began before it was
// freed; db.exclusive is held for reading by every transaction and for
// writing by scrub, so that no such transaction is open while it erases.
// The erase and the removal of the rewrite marker are one bbolt commit,
// after the erase is synced: a crash in between leaves the marker, and
// the next Open erases again.

// view runs fn in a read transaction that scrub waits for.
func (db *DB) view(fn func(*bolt.Tx) error) error {
	db.exclusive.RLock()
	defer db.exclusive.RUnlock()
	return db.bolt.View(fn)
}

// scrub zeroes every page of the file that holds nothing live, and clears
// the rewrite marker.
func (db *DB) scrub() error {
	db.exclusive.Lock()
	defer db.exclusive.Unlock()
	f, err := os.OpenFile(db.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("erasing the freed pages of %s: %w", db.path, err)
	}
	defer f.Close()
	// A write transaction: bbolt's writer lock keeps any commit from
	// taking a free page while it is erased, and its start releases the
	// pages earlier commits freed, since no reader is left.
	err = db.noteWrite(db.bolt.Update(func(tx *bolt.Tx) error {
		pages, err := freePages(db.path, f, tx)
		if err != nil {
			return err
		}
		if err := zeroPages(f, pages, int64(db.bolt.Info().PageSize)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyRewrite)
	}))
	if err != nil {
		return fmt.Errorf("erasing the freed pages of %s: %w", db.path, err)
	}
	return nil
}

// freePages lists the pages of the file that hold nothing live as of tx,
// a write transaction that has written nothing: those in the freelist of
// its last commit (which bbolt writes whole, pages pending for readers
// included), each checked with bbolt itself, and those past the
// high-water mark, which only a failed commit can have written.
func freePages(path string, f *os.File, tx *bolt.Tx) ([]uint64, error) {
	m, err := readMeta(path, f)
	if err != nil {
		return nil, err
	}
	if m.txid+1 != uint64(tx.ID()) {
		return nil, fmt.Errorf("the file's last commit is %d, the transaction's %d: not erasing anything", m.txid, tx.ID())
	}
	if m.freelist == noFreelist {
		return nil, fmt.Errorf("the file has no freelist on disk: not erasing anything")
	}
	ps := int64(m.pageSize)
	head := make([]byte, pageHeader+8)
	if _, err := f.ReadAt(head, int64(m.freelist)*ps); err != nil {
		return nil, err
	}
	le := binary.NativeEndian
	if le.Uint64(head) != m.freelist || le.Uint16(head[8:]) != freelistFlag {
		return nil, fmt.Errorf("page %d is not the freelist: not erasing anything", m.freelist)
	}
	count, at := uint64(le.Uint16(head[10:])), int64(pageHeader)
	if count == 0xFFFF { // the count is too large for the header: it comes first
		count, at = le.Uint64(head[pageHeader:]), pageHeader+8
	}
	if count > m.pgid {
		return nil, fmt.Errorf("the freelist counts %d pages of %d: not erasing anything", count, m.pgid)
	}
	raw := make([]byte, count*8)
	if _, err := f.ReadAt(raw, int64(m.freelist)*ps+at); err != nil {
		return nil, err
	}
	pages := make([]uint64, 0, count)
	for i := range count {
		id := le.Uint64(raw[i*8:])
		info, err := tx.Page(int(id))
		if err != nil {
			return nil, err
		}
		if info == nil || info.Type != "free" {
			return nil, fmt.Errorf("page %d is in the freelist, but bbolt does not call it free: not erasing anything", id)
		}
		pages = append(pages, id)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	for id := m.pgid; id < uint64(fi.Size()/ps); id++ {
		pages = append(pages, id)
	}
	return pages, nil
}

// zeroPages writes zeros over pages (ascending runs are one write each)
// and syncs them.
func zeroPages(f *os.File, pages []uint64, ps int64) error {
	const maxRun = 256
	zeros := make([]byte, maxRun*ps)
	for i := 0; i < len(pages); {
		n := 1
		for i+n < len(pages) && n < maxRun && pages[i+n] == pages[i]+uint64(n) {
			n++
		}
		if _, err := f.WriteAt(zeros[:int64(n)*ps], int64(pages[i])*ps); err != nil {
			return err
		}
		i += n
	}
	return f.Sync()
}
