package core

import (
	"context"
	"errors"
	"fmt"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/inventory"
	"certmaker/storage"
)

// Kind is what went wrong, in terms every door can answer: the API and
// the admin socket as a status, ACME as a problem type, the dashboard as a
// page. Each door has one table from kinds to its form; adding a kind is
// one edit per door.
type Kind string

// The kinds. Internal is everything else: the client learns nothing of it.
const (
	Internal        Kind = "internal"
	Invalid         Kind = "invalid"         // the request asks for what may not be, or is malformed
	Unauthenticated Kind = "unauthenticated" // no credentials at all
	Disabled        Kind = "disabled"        // the user exists and is disabled
	Forbidden       Kind = "forbidden"       // the actor may not act on what it has shown it knows
	NotFound        Kind = "not_found"       // missing, or someone else's: the two look the same
	Exists          Kind = "exists"          // a name or key already taken
	Revoked         Kind = "revoked"         // the certificate was revoked already
	Expired         Kind = "expired"         // a challenge's time has passed
	ChallengeFailed Kind = "challenge_failed"
	Full            Kind = "full" // storage is full: try again later
	Canceled        Kind = "canceled"

	// TooMany: the actor has as many of something as it may (pending
	// challenges); finish some or wait.
	TooMany Kind = "too_many"
)

// ErrInvalid marks an argument refused for its value (a user name, a
// reason code); ca, inventory and challenge refuse theirs with their own
// sentinels, which are of the same kind.
var ErrInvalid = errors.New("invalid argument")

// errExpired is a challenge whose time has passed.
var errExpired = errors.New("challenge expired")

// Error is an error with its kind; its message is the cause's.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an error of kind k, formatted as fmt.Errorf (with %w).
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// kinded is an error that knows its kind (Error, and the admin client's
// errors from the socket).
type kinded interface{ ErrorKind() Kind }

// ErrorKind implements kinded.
func (e *Error) ErrorKind() Kind { return e.Kind }

// sentinels are the errors of the packages below the core and their
// kinds; the first match wins.
var sentinels = []struct {
	err  error
	kind Kind
}{
	{errExpired, Expired},
	{storage.ErrNotFound, NotFound},
	{storage.ErrExists, Exists},
	{storage.ErrRevoked, Revoked},
	{storage.ErrFull, Full},
	{ErrInvalid, Invalid},
	{ErrReason, Invalid},
	{ca.ErrInvalid, Invalid},
	{ca.ErrKeyType, Invalid},
	{ca.ErrWeakKey, Invalid},
	{ca.ErrWrongKey, Invalid},
	{ca.ErrRootOffline, Invalid},
	{ca.ErrUnknownRoot, NotFound},
	{inventory.ErrInvalid, Invalid},
	{challenge.ErrPort, Invalid},
	{context.Canceled, Canceled},
}

// KindOf classifies any error: the kind it carries, else the kind of the
// sentinel it wraps, else Internal. nil has no kind ("").
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var k kinded
	if errors.As(err, &k) {
		return k.ErrorKind()
	}
	var chErr *challenge.Error
	if errors.As(err, &chErr) {
		return ChallengeFailed
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.kind
		}
	}
	return Internal
}

// SameKind reports whether two errors are of one kind other than
// Internal: how an error that crossed the admin socket still matches
// errors.Is against the sentinel it stood for.
func SameKind(err, target error) bool {
	k := KindOf(err)
	return k != "" && k != Internal && k == KindOf(target)
}
