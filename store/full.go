package store

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// ErrFull (storage.ErrFull) is matched by a write that failed because the
// file system holding the database is full (ENOSPC) or over quota (EDQUOT).

// fullState remembers whether the last write failed for lack of space, so
// that health checks and metrics can say so without writing anything.
type fullState struct{ failing atomic.Bool }

// WritesFailing reports whether the last write failed because storage is
// full; the next write that succeeds clears it.
func (db *DB) WritesFailing() bool { return db.full.failing.Load() }

// update runs fn in a transaction of its own, as bolt's Update, and notes
// whether storage was full.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	db.exclusive.RLock()
	defer db.exclusive.RUnlock()
	return db.noteWrite(db.bolt.Update(fn))
}

// noteWrite records the outcome of a commit and marks a failure for lack of
// space with ErrFull. A function's own error (a refusal, a missing record)
// says nothing about the disk and leaves the state as it was.
func (db *DB) noteWrite(err error) error {
	switch {
	case err == nil:
		db.full.failing.Store(false)
	case isFull(err):
		db.full.failing.Store(true)
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// isFull recognizes ENOSPC and EDQUOT, also where bbolt formats them into
// its own message ("file resize error: %s") and the chain is lost.
func isFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}
