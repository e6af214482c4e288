//go:build !linux

package store

// ReleaseMapped does nothing outside Linux, where resident-set accounting
// of a file mapping is the kernel's own business.
func (db *DB) ReleaseMapped() error { return nil }
