package store

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// ReleaseMapped drops the file's pages from the process's address space.
// bbolt reads the file through a read-only shared mmap, so every page a
// transaction has read stays counted in the server's resident set: under
// sustained issuance that grows with the file (each commit reads the last
// pages it appends to), and a server with a few hundred MB of certificates
// looks that large in top. The pages stay in the kernel's page cache, so
// the next read of one costs a minor fault, not a disk read; nothing is
// written through the mapping, so nothing can be lost. The read
// transaction holds bbolt's mmap lock, so the mapping cannot move while
// its address is in use.
func (db *DB) ReleaseMapped() error {
	return db.view(func(tx *bolt.Tx) error {
		start, size := db.bolt.Info().Data, uintptr(tx.Size())
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, size, syscall.MADV_DONTNEED); errno != 0 {
			return errno
		}
		return nil
	})
}
