package storage

import (
	"context"
	"errors"
	"time"
)

// Coordination is what the processes that serve one store agree on
// besides its records. A bbolt file has one (it locks the file): its
// claims and sessions live in memory, and nothing changes behind its
// back. An etcd store has a node per machine: claims and sessions are
// keys with a lease, and each node hears what the others changed.
type Coordination interface {
	// Claim takes name for the caller, exclusively among every process
	// of the store: without wait it returns at once (ok false if another
	// holds it), with wait it waits for the holder while ctx lets it. A
	// claim ends with Release or, on a cluster, when its holder's lease
	// runs out (it died, or stalled longer than the lease): a write that
	// must only happen under the claim goes through Claim.Fenced.
	Claim(ctx context.Context, name string, wait bool) (c Claim, ok bool, err error)
	// Claimed reports whether anyone holds name.
	Claimed(name string) (bool, error)

	// WatchRoots calls changed, from a goroutine of the store's, each
	// time the roots or the active issuer may have changed through
	// another process, until ctx ends. A store only this process writes
	// never calls it.
	WatchRoots(ctx context.Context, changed func())

	// Shared reports whether other processes serve this store too: what
	// a process would otherwise keep to itself (used ACME nonces) must
	// then be kept in the store.
	Shared() bool
	// SpendNonce records that an ACME nonce was used, once among every
	// process of a Shared store: of calls for one nonce, from any
	// processes at once, one succeeds and every other is ErrExists, as
	// long as until has not passed. The record lasts until then and goes
	// within MaxNonceLinger after it, whatever else is spent (on etcd a
	// lease per minute of until), so a store holds the nonces spent with
	// an until still to come: the caller bounds how many it spends (the
	// ACME door: [acme] cluster_nonces_per_minute per node) and how far
	// ahead until is (11 minutes). A store that is not Shared answers
	// errors.ErrUnsupported: its one process keeps used nonces itself.
	SpendNonce(nonce []byte, until time.Time) error

	// PutSession stores a dashboard session under the hash of its id
	// until it ends; Session reads it (ErrNotFound once it ended or was
	// deleted), DeleteSession ends it. bbolt keeps sessions in memory,
	// at most MaxSessions (the oldest go first), and a restart signs
	// everyone out; etcd keeps them with a lease, for every node.
	PutSession(id []byte, s Session) error
	Session(id []byte) (Session, error)
	DeleteSession(id []byte) error
}

// Claim is a claim held; see Coordination.Claim.
type Claim interface {
	// Fenced is the store whose writes commit only while the claim is
	// held: a write after the claim was lost fails with ErrClaimLost and
	// writes nothing. (Jepsen's finding on etcd's locks: a lock is only
	// safe if the final write checks it.) A claim taken through another
	// claim's Fenced store is fenced by both.
	Fenced() Store
	// Release ends the claim; a second call does nothing.
	Release()
}

// ErrClaimLost is a write through Claim.Fenced after the claim ended: its
// holder stalled longer than the lease, and another may hold it now.
var ErrClaimLost = errors.New("the claim on this work was lost (the server stalled): nothing was written")

// Session is a signed-in dashboard browser: who, with which token (its
// hash, so that a new token ends it), its CSRF token, a message for its
// next page, and when it ends.
type Session struct {
	User      string    `json:"user"`
	TokenHash []byte    `json:"token_hash"`
	CSRF      string    `json:"csrf"`
	Flash     string    `json:"flash,omitempty"`
	Expires   time.Time `json:"expires"`
}

// MaxNonceLinger is how long after its until a used nonce's record may
// stay in a Shared store (SpendNonce).
const MaxNonceLinger = 2 * time.Minute

// MaxSessions bounds the sessions a store that keeps them in memory holds:
// only people with a valid token make sessions, so reaching it means many
// sign-ins, and the sessions closest to their end go first.
const MaxSessions = 10000
