package core

import (
	"context"
	"errors"
	"fmt"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/internal/detailed"
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
	Full            Kind = "full"            // storage is full: try again later
	Unavailable     Kind = "unavailable"     // the storage cluster does not answer: try again shortly
	Canceled        Kind = "canceled"
	BadReason       Kind = "bad_reason" // a revocation reason certmaker does not revoke for

	// A check of a name failed: it has no address or DNS failed
	// (ChallengeDNS), the CA could not connect or got no HTTP or TLS
	// answer (ChallengeConnection), the file, TXT record or certificate
	// held something else than the proof (ChallengeIncorrect), or the
	// check failed otherwise (ChallengeFailed: no such file or TXT
	// record, another status, a target the checker may not fetch).
	ChallengeFailed     Kind = "challenge_failed"
	ChallengeDNS        Kind = "challenge_dns"
	ChallengeConnection Kind = "challenge_connection"
	ChallengeIncorrect  Kind = "challenge_incorrect"

	// Outcomes of ACME's protocol state (RFC 8555 6.7 names each); the
	// other doors meet few of them, but their tables cover them all.
	BadCSR                Kind = "bad_csr"                // a finalize CSR that does not fit its order
	NotReady              Kind = "not_ready"              // an order that cannot be finalized (yet)
	RejectedIdentifier    Kind = "rejected_identifier"    // a name this CA will not certify
	UnsupportedIdentifier Kind = "unsupported_identifier" // an identifier type other than dns and ip
	AccountInactive       Kind = "account_inactive"       // a deactivated ACME account
	NoAccount             Kind = "no_account"             // no ACME account has this key or URL
	BindingRequired       Kind = "binding_required"       // a new ACME account needs an External Account Binding
	BadContact            Kind = "bad_contact"            // a contact that is not an email address
	UnsupportedContact    Kind = "unsupported_contact"    // a contact other than mailto:

	// TooMany: the actor has as many of something as it may (pending
	// challenges); finish some or wait.
	TooMany Kind = "too_many"

	// PolicyDenied: the user's issuance policy refuses what the request
	// asks for (a name, a key type); the message says which and what the
	// policy allows (*PolicyError).
	PolicyDenied Kind = "policy_denied"

	// AlreadyReplaced: an ACME order names as the certificate it renews
	// one that another live order renews already (RFC 9773 5).
	AlreadyReplaced Kind = "already_replaced"
)

// Kinds lists every kind: each door's table has an entry for each, which
// a test per door checks.
func Kinds() []Kind {
	return []Kind{
		Internal, Invalid, Unauthenticated, Disabled, Forbidden, NotFound, Exists, Revoked, Expired,
		Full, Unavailable, Canceled, BadReason, ChallengeFailed, ChallengeDNS, ChallengeConnection, ChallengeIncorrect,
		BadCSR, NotReady, RejectedIdentifier, UnsupportedIdentifier, AccountInactive, NoAccount,
		BindingRequired, BadContact, UnsupportedContact, TooMany, PolicyDenied, AlreadyReplaced,
	}
}

// ErrInvalid marks an argument refused for its value (a user name, a
// reason code); ca, inventory and challenge refuse theirs with their own
// sentinels, which are of the same kind.
var ErrInvalid = errors.New("invalid argument")

func invalidf(format string, args ...any) error {
	return detailed.Errorf(ErrInvalid, format, args...)
}

// Detail is an error's message for a person: what is wrong, without the
// words of the sentinel that gives its kind ("invalid request: "), when
// the error says it apart (internal/detailed: ca.Invalidf, and the core's
// own); else the whole message.
func Detail(err error) string {
	var d interface{ Detail() string }
	if errors.As(err, &d) {
		return d.Detail()
	}
	return err.Error()
}

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
	{storage.ErrUnavailable, Unavailable},
	{storage.ErrKeyBehind, Unavailable},
	{storage.ErrIssuerRetired, Unavailable}, // a stale node: it reloads the roots
	{storage.ErrClaimLost, Unavailable},     // the node stalled: the client retries
	{ErrInvalid, Invalid},
	{ErrReason, BadReason},
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
		return challengeKind(chErr.Code)
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

// challengeKind sorts the checker's failures by what the one who asked
// must fix: the name's address, the connection, the file's content, or
// anything else.
func challengeKind(c challenge.Code) Kind {
	switch c {
	case challenge.CodeLookup, challenge.CodeDNSServer:
		return ChallengeDNS
	case challenge.CodeAddress, challenge.CodeRefused, challenge.CodeUnreachable, challenge.CodeConnection,
		challenge.CodeTimeout, challenge.CodeNotHTTP, challenge.CodeCanceled, challenge.CodeTLS:
		return ChallengeConnection
	case challenge.CodeWrongToken, challenge.CodeBadCertificate:
		return ChallengeIncorrect
	}
	return ChallengeFailed
}
