package storage

import "errors"

// Sentinel errors every backend returns (wrapped with context); check them
// with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrRevoked  = errors.New("already revoked")
	// ErrFull is matched by a write that failed because the storage is
	// full (ENOSPC, a quota, etcd's space quota). Nothing of the failed
	// write is kept; the same write succeeds once space is freed, so
	// callers answer "try again later", not "internal error".
	ErrFull = errors.New("the CA's storage is full")
	// ErrLocked means another process holds the store exclusively (a
	// bbolt file that a server has open).
	ErrLocked = errors.New("database is locked by another process")
	// ErrUnavailable is matched by a read or write that failed because a
	// storage over the network cannot answer now (an etcd cluster without
	// quorum, a timeout). A write that failed so may or may not have
	// committed, but it was not acknowledged; callers answer "try again
	// later" (503), as for ErrFull.
	ErrUnavailable = errors.New("the CA's storage cluster does not answer")
	// ErrKeyBehind is matched by a write or read of a secret on a node of
	// a shared store whose key file no longer opens it, since a rekey on
	// another node: it writes and reads no secret until an operator
	// copies the new key file to it (the store logs that once). Callers
	// answer "try again later" (503), as for ErrUnavailable.
	ErrKeyBehind = errors.New("this node of the CA does not have the storage's new key file yet")
)

// ErrIssuerRetired is matched by a write of a new certificate signed by an
// issuer that is no longer the active one: on a Shared store, another
// process rotated it out after this one signed. Nothing was written; the
// caller loads the roots again and signs anew, or answers "try again
// later" (503), as for ErrUnavailable.
var ErrIssuerRetired = errors.New("the certificate's issuer was rotated out by another node of the CA")
