package storage

import "time"

// What the indexes mean, whatever a backend builds them from: one
// user's certificates by age, everyone's by age, and unrevoked
// certificates by expiry, so that a listing or "what expires soon" reads
// one page's worth of records, never every certificate.

// ListQuery selects certificates, newest first.
type ListQuery struct {
	Owner string // "" for everyone's
	// RevokedOnly keeps revoked certificates only.
	RevokedOnly bool
	// ExpiringBefore, if set, keeps unrevoked certificates whose not-after
	// lies in [ExpiringAfter, ExpiringBefore).
	ExpiringAfter, ExpiringBefore time.Time
	// Before is a paging cursor: only certificates whose sort key is
	// below it. The sort key orders certificates by issue time, then
	// serial: Created in Unix nanoseconds (8 bytes, big-endian) followed
	// by the serial's big-endian bytes. Listings hand it out (hex) as
	// their cursor, so every backend must order and cut by this key.
	Before []byte
	// Limit bounds the page.
	Limit int
}

// MaxScan bounds how many records one listing reads. A filter that matches
// little (revoked, expiring) would otherwise read the whole file for one
// page; instead the page comes back short with a cursor to go on from.
const MaxScan = 10000
