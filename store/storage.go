package store

import "certmaker/storage"

// The records and sentinel errors are storage's, so that the service core
// and a second backend share them; these names keep store's callers and
// tests as they were.
type (
	User              = storage.User
	Root              = storage.Root
	Certificate       = storage.Certificate
	CertificateStatus = storage.CertificateStatus
	Challenge         = storage.Challenge
	Revocation        = storage.Revocation
	ListQuery         = storage.ListQuery
	PendingQuery      = storage.PendingQuery
	ACMEAccount       = storage.ACMEAccount
	ACMEIdentifier    = storage.ACMEIdentifier
	ACMEProblem       = storage.ACMEProblem
	ACMEOrder         = storage.ACMEOrder
	ACMEAuthz         = storage.ACMEAuthz
	ACMEChallenge     = storage.ACMEChallenge
	ACMEEAB           = storage.ACMEEAB
	ACMEEABInfo       = storage.ACMEEABInfo
	ACMESweep         = storage.ACMESweep
)

// Sentinel errors; check them with errors.Is.
var (
	ErrNotFound = storage.ErrNotFound
	ErrExists   = storage.ErrExists
	ErrRevoked  = storage.ErrRevoked
	ErrFull     = storage.ErrFull
)

// MaxScan bounds how many records one listing reads (storage.MaxScan).
const MaxScan = storage.MaxScan

// MaxCursor is the longest listing cursor (storage.MaxCursor).
const MaxCursor = storage.MaxCursor

// HashToken is storage.HashToken.
func HashToken(token string) []byte { return storage.HashToken(token) }

// DB is a storage.Store with every optional maintenance interface.
var (
	_ storage.Store          = (*DB)(nil)
	_ storage.Backuper       = (*DB)(nil)
	_ storage.Checker        = (*DB)(nil)
	_ storage.MappedReleaser = (*DB)(nil)
	_ storage.Sizer          = (*DB)(nil)
)
