package storage

import "time"

// Item is one record of a store as a migration copies it from one backend
// to another: exactly one field is set. Secrets are open (a migration runs
// in one process with the one key file both stores are sealed with); the
// store that takes an Item seals them again. Indexes, counters and other
// derived keys are not Items: each backend builds its own from the records.
type Item struct {
	User *User
	// Root comes with whether it is the active issuer.
	Root   *Root
	Active bool
	// Certificate includes its revocation.
	Certificate *Certificate
	Challenge   *Challenge
	ACMEAccount *ACMEAccount
	// ACMEOrder comes with its authorizations.
	ACMEOrder  *ACMEOrder
	ACMEAuthzs []ACMEAuthz
	ACMEEAB    *ACMEEAB
	// ACMENonceKey is the key that authenticates nonces.
	ACMENonceKey []byte
	Announcement *Announcement
	// CRLNumber is a root's last CRL number; the store that takes it
	// hands out only greater ones.
	CRLNumber *CRLNumber
	// UnboundACMECertificates is CountUnboundACMECertificates: the one
	// count no record implies once the sweep has taken the orders of
	// those certificates.
	UnboundACMECertificates *int
}

// Announcement records that an expiry warning was delivered (notify).
type Announcement struct {
	Key   []byte
	At    time.Time
	Until time.Time // when the record may go
}

// CRLNumber is the last CRL number handed out for a root.
type CRLNumber struct {
	Root   string
	Number uint64
}

// Maintenance that lets `certmaker migrate` and `certmaker backup` copy a
// store into another backend.
type (
	// Exporter calls fn on every record, all read at one moment, each
	// kind in the order of its identity and the kinds in the order of
	// Item's fields: an importer meets an account before its orders and
	// a certificate before the order that names it.
	Exporter interface {
		Export(fn func(Item) error) error
	}
	// Importer stores records into a new, empty store, with every index
	// and counter they imply (the sweep's too), given in an Exporter's
	// order. Storing an Item again stores the same.
	Importer interface {
		Import(items []Item) error
	}
)
