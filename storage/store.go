package storage

import (
	"io"
	"math/big"
	"time"
)

// Store is everything the service core keeps and reads. Every method is
// one transaction; reads return copies the caller may keep.
type Store interface {
	Users
	Roots
	Certificates
	Challenges
	Revocations
	ACME
	Coordination

	// Ping checks that the storage answers.
	Ping() error
	// WritesFailing reports whether the last write failed with ErrFull;
	// the next write that succeeds clears it.
	WritesFailing() bool
}

// Users are the API users and their hashed tokens.
type Users interface {
	// CreateUser stores a new user; ErrExists if the name or the token
	// hash is taken.
	CreateUser(u User) error
	User(name string) (User, error)
	UserByTokenHash(hash []byte) (User, error)
	// Users lists every user by name.
	Users() ([]User, error)
	// UpdateUser changes a user in one transaction (fn may run more than
	// once) and returns it as stored.
	UpdateUser(name string, fn func(*User) error) (User, error)
	CountUsers() (int, error)
}

// Roots are the CA certificates (roots and intermediates) with their keys,
// one of them the active issuer of leaves.
type Roots interface {
	// PutRoot stores a root or an intermediate; with active it becomes
	// the issuer of new certificates in the same transaction.
	PutRoot(r Root, active bool) error
	// Roots returns every root and intermediate and the active issuer's
	// fingerprint.
	Roots() ([]Root, string, error)
	// UpdateRoot changes one stored root or intermediate in one
	// transaction (fn may run more than once); ErrNotFound if unknown.
	UpdateRoot(fingerprint string, fn func(*Root) error) (Root, error)
}

// Certificates are the issued leaves and their indexes.
//
// On a Shared store, the writes of a new certificate (PutCertificate,
// CompleteChallenge, PutACMECertificate) commit only while c.Root is the
// active issuer: when c.Root names a stored root or intermediate that is
// not, they fail with ErrIssuerRetired and write nothing: another process
// rotated the issuer out after this one signed (its reload may have
// failed, or not come yet). A store only one process writes need not
// check: that process's rotations and issuances are its own.
type Certificates interface {
	// PutCertificate stores a new certificate durably (fsync'd) before it
	// returns.
	PutCertificate(c *Certificate) error
	Certificate(serial *big.Int) (Certificate, error)
	// CertificateStatus reads only what an OCSP answer needs.
	CertificateStatus(serial *big.Int) (CertificateStatus, error)
	// CountCertificates and CountAllCertificates read counters the
	// writes keep, never the certificates.
	CountCertificates(owner string) (int, error)
	CountAllCertificates() (int, error)
	// CountExpiring counts unrevoked certificates whose not-after lies in
	// [from, to).
	CountExpiring(from, to time.Time) (int, error)
	// ListCertificates returns one page matching q, in the order of the
	// index that answers it (ListQuery), and the cursor of the next page
	// (nil at the end).
	ListCertificates(q ListQuery) ([]Certificate, []byte, error)
	// CountExpiry counts certificates by when they end, reading at most
	// q.Max index entries or records (a backend with counters reads
	// fewer and counts all).
	CountExpiry(q ExpiryQuery) (ExpiryCounts, error)
}

// Challenges are requests waiting for proof of their names.
type Challenges interface {
	PutChallenge(ch Challenge) error
	Challenge(id string) (Challenge, error)
	// CompleteChallenge stores c and marks the challenge solved in one
	// transaction; if another solve got there first it stores nothing and
	// returns the challenge with that solve's serial.
	CompleteChallenge(id string, c *Certificate) (Challenge, error)
	DeleteChallengesExpiredBefore(t time.Time) (int, error)
	// PendingChallenges lists one owner's unsolved, unexpired challenges,
	// newest first; more says some were left out (Limit, or MaxScan
	// reached before the end).
	PendingChallenges(q PendingQuery) (list []Challenge, more bool, err error)
}

// PendingQuery selects one owner's challenges still waiting for proof.
type PendingQuery struct {
	Owner string
	Now   time.Time // those expiring at or before it are left out
	Limit int
	// MaxScan bounds the records read; 0 is MaxScan. Challenges are not
	// indexed by owner (they live a day or two), so this is what keeps a
	// listing from reading without end.
	MaxScan int
}

// Revocations are the revocation records OCSP and CRLs answer from.
type Revocations interface {
	// Revoke marks a certificate revoked; ErrRevoked if it already is
	// (the first revocation stands).
	Revoke(serial *big.Int, at time.Time, reason int) (Certificate, error)
	// Revocations lists one root's revocations of certificates that end
	// after now (what its CRL lists) and their generation.
	Revocations(root string, now time.Time) (uint64, []Revocation, error)
	RevocationGeneration(root string) (uint64, error)
	NextCRLNumber(root string) (uint64, error)
	// CRLState reads, at one moment, the root's revocation generation and
	// the CRL last agreed for it (AgreedCRL; zero if none).
	CRLState(root string) (gen uint64, agreed AgreedCRL, err error)
	// AgreeCRL agrees on a new CRL of the root, of generation gen made at
	// thisUpdate, numbered above every number before (NextCRLNumber's
	// too), if the one agreed is still the one numbered seen (0: none).
	// Else another process agreed one since: it writes nothing and
	// returns that one. A store of one process may keep the agreement in
	// memory (its number is durable): a restart agrees anew.
	AgreeCRL(root string, seen, gen uint64, thisUpdate time.Time) (AgreedCRL, error)
}

// ACME is the state of the RFC 8555 server.
type ACME interface {
	ACMENonceKey() ([]byte, error)
	CreateACMEEAB(k ACMEEAB) error
	ACMEEABs(owner string) ([]ACMEEABInfo, error)
	RevokeACMEEAB(id string) (int, error)
	ACMEEABKey(id string) (ACMEEAB, error)
	CreateACMEAccount(a ACMEAccount) (ACMEAccount, error)
	// CountUnboundACMEAccounts counts the accounts made without an
	// External Account Binding (EABKeyID ""), in any status, that the
	// sweep has not deleted (ACMESweep.Idle).
	CountUnboundACMEAccounts() (int, error)
	// CountUnboundACMECertificates counts the certificates
	// PutACMECertificate stored for orders of accounts without a binding
	// (or of no account), ever: neither the sweep nor deleting an account
	// lowers it.
	CountUnboundACMECertificates() (int, error)
	// ACMEAccounts lists the accounts that act for owner, or every
	// account for "", by id.
	ACMEAccounts(owner string) ([]ACMEAccount, error)
	ACMEAccount(id string) (ACMEAccount, error)
	ACMEAccountByKey(thumbprint string) (ACMEAccount, error)
	UpdateACMEAccount(id string, fn func(*ACMEAccount) error) (ACMEAccount, error)
	CreateACMEOrder(o ACMEOrder, authzs []ACMEAuthz) error
	ACMEOrder(id string) (ACMEOrder, error)
	// ACMEOrders lists the ids of an account's orders in a stable order,
	// at most limit (1 or more) from the one after the id after ("" from
	// the start); next is where the next page starts, "" at the end.
	ACMEOrders(account, after string, limit int) (ids []string, next string, err error)
	// CountACMEIdentifiers adds up the identifiers of the account's
	// orders, in any status, that expire after t; first is when the
	// earliest of those orders expires (zero if there is none).
	CountACMEIdentifiers(account string, t time.Time) (n int, first time.Time, err error)
	UpdateACMEOrder(id string, fn func(*ACMEOrder) error) (ACMEOrder, error)
	ACMEOrderBySerial(serial *big.Int) (ACMEOrder, error)
	ACMEAuthz(id string) (ACMEAuthz, error)
	// ACMEAuthzFor is the latest authorization CreateACMEOrder stored for
	// an account and identifier (one it made, not one it reused);
	// ErrNotFound if none.
	ACMEAuthzFor(account string, id ACMEIdentifier) (ACMEAuthz, error)
	// UpdateACMEAuthz changes an authorization and, in the same commit,
	// its order: order (if not nil) sees the order and all its
	// authorizations as they stand after fn.
	UpdateACMEAuthz(id string, fn func(*ACMEAuthz) error, order func(*ACMEOrder, []ACMEAuthz) error) (ACMEAuthz, ACMEOrder, error)
	// PutACMECertificate stores an order's certificate and the order as fn
	// leaves it (valid, naming c) in one commit, or nothing if fn refuses;
	// it is how an order comes to its certificate. For an order of an
	// account without a binding it counts the certificate
	// (CountUnboundACMECertificates), and the sweep takes the order once
	// c.NotAfter has passed.
	PutACMECertificate(orderID string, c *Certificate, fn func(*ACMEOrder) error) (ACMEOrder, error)
	// DeleteExpiredACME deletes, in one transaction, what ACMESweep
	// selects among at most q.Max records from q.After on, with the
	// indexes that name them; it returns how many it deleted and where
	// the next batch starts ("" once the sweep has read everything).
	DeleteExpiredACME(q ACMESweep) (deleted int, next string, err error)
}

// ACMESweep is one batch of the sweep of expired ACME state:
//   - the orders that are not valid and the authorizations whose expiry
//     lies before Before. An order goes with its own authorizations
//     (those it made), and only once they are all due, so that an
//     authorization never outlives the order it was made for;
//   - a valid order of an account with a binding stays for good, as its
//     certificate does (download, revocation by its account); a valid
//     order of an account without one goes once its certificate's
//     NotAfter lies before Before, with what ACMEOrderBySerial reads for
//     it; the certificate stays, the CA's record;
//   - with Idle set, an account without a binding goes (with what
//     ACMEAccountByKey reads for its key) once it has no order left and
//     its creation, every order's expiry and every certificate's NotAfter
//     lie before Idle: strangers' accounts do not fill
//     max_unbound_accounts for good.
//
// The work of a sweep is what it deletes, not what is kept: a backend
// finds what is due by an index of expiry, never by reading every order.
type ACMESweep struct {
	Before time.Time
	// Idle: the accounts without a binding that nothing has kept since
	// go; zero keeps every account.
	Idle time.Time
	// After is the Next of the batch before, "" to start; its form is
	// the backend's.
	After string
	// Max bounds the records one batch reads.
	Max int
}

// Maintenance a backend may offer; the core asks for each with a type
// assertion and says so when a backend lacks it. bbolt has them all.
type (
	// Backuper writes a consistent copy of everything to w.
	Backuper interface {
		Backup(w io.Writer) (int64, error)
	}
	// Checker verifies the storage's own consistency.
	Checker interface {
		Check() error
	}
	// MappedReleaser returns memory-mapped pages to the kernel.
	MappedReleaser interface {
		ReleaseMapped() error
	}
	// Sizer reports the bytes the storage takes.
	Sizer interface {
		Size() (int64, error)
	}
	// Rekeyer seals every secret under a new key and replaces the key
	// file (KeyFile) with it.
	Rekeyer interface {
		Rekey() error
		KeyFile() string
	}
)
