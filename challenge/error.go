package challenge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// Error says which identifier failed its check and why.
type Error struct {
	Identifier string
	// Code is what kind of failure it was, for whoever acts on it (a
	// door's advice, ACME's problem type); Reason says it to a person.
	Code Code
	// Reason is one of a small closed set of short sentences for an
	// operator ("connection refused", "not an HTTP answer", "HTTP 404",
	// "wrong token", "timed out after 5s", ...). It never carries bytes
	// the target sent: a solve must not turn the CA into a tool that reads
	// banners off the hosts it can reach.
	Reason string
	Err    error // underlying cause, may be nil; may hold the target's bytes
}

// Code classifies a failed check. The zero value is CodeOther.
type Code int

// The codes, from before a connection to after the answer.
const (
	CodeOther       Code = iota
	CodeTarget           // the target cannot be checked: no identifier, path or token, a port not allowed
	CodeCanceled         // the caller gave up
	CodeTimeout          // the check ran out of time
	CodeLookup           // the name has no address: unknown, or the lookup failed
	CodeAddress          // an address the checker may not connect to
	CodeRefused          // connection refused
	CodeUnreachable      // no route to the host or its network
	CodeConnection       // the connection failed otherwise, or ended before a whole answer
	CodeNotHTTP          // something answered, not with HTTP
	CodeRedirect         // an HTTP redirect, which is not followed
	CodeNotFound         // HTTP 404
	CodeStatus           // another HTTP status than 200
	CodeTooLarge         // a body larger than the token could be
	CodeWrongToken       // a 200 with something else than the token (a TXT record or a TLS certificate for another proof)

	// Added with the DNS and TLS proofs; new codes go last, so that the
	// numbers above keep their meaning.
	CodeNoRecord       // DNS: the name has no TXT record, or does not exist
	CodeDNSServer      // DNS: the resolvers failed, refused, or sent no usable answer
	CodeTLS            // TLS: no handshake, or not with the acme-tls/1 protocol
	CodeBadCertificate // TLS: the certificate is not a proof for the name (no or a wrong acmeIdentifier, other names)
)

// reason is a failure's code and its sentence.
type reason struct {
	code Code
	text string
}

func (e *Error) Error() string { return e.Identifier + ": " + e.Reason }

// failer makes the failures of one identifier's check.
func failer(id string) func(r reason, err error) *Error {
	return func(r reason, err error) *Error {
		return &Error{Identifier: id, Code: r.code, Reason: r.text, Err: err}
	}
}

func (e *Error) Unwrap() error { return e.Err }

// dialError marks a failure to connect, before any byte was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// errTimeout is the cause of a fetch's own deadline, to tell it apart from a
// caller's cancellation.
var errTimeout = errors.New("challenge fetch timed out")

// stopped is the reason when ctx, the fetch's context, is done: its cause
// says more than the error it left behind. The zero reason while ctx is
// live.
func (c *Checker) stopped(ctx context.Context) reason {
	switch cause := context.Cause(ctx); {
	case cause == errTimeout:
		return reason{CodeTimeout, fmt.Sprintf("timed out after %s", c.timeout)}
	case errors.Is(cause, context.DeadlineExceeded):
		return reason{CodeTimeout, "timed out"}
	case cause != nil:
		return reason{CodeCanceled, "canceled"}
	}
	return reason{}
}

// lookupReason turns a failed name lookup into a fixed reason.
func (c *Checker) lookupReason(ctx context.Context, err error) reason {
	if r := c.stopped(ctx); r.text != "" {
		return r
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return reason{CodeLookup, "no such host"}
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return reason{CodeLookup, "timed out looking up the name"}
	}
	// The resolver's text may come from a DNS server; it is not repeated.
	return reason{CodeLookup, "name lookup failed"}
}

// fetchReason turns a failed connect, request or body read into a fixed
// reason. The error's text is never used: net/http quotes what the target
// sent ("malformed HTTP status code \"SSH-2.0-...\"").
func (c *Checker) fetchReason(ctx context.Context, err error) reason {
	if r := c.stopped(ctx); r.text != "" {
		return r
	}
	var netErr net.Error
	var de *dialError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return reason{CodeRefused, "connection refused"}
	case errors.Is(err, syscall.ECONNRESET):
		return reason{CodeConnection, "connection reset"}
	case errors.Is(err, syscall.EHOSTUNREACH):
		return reason{CodeUnreachable, "host unreachable"}
	case errors.Is(err, syscall.ENETUNREACH):
		return reason{CodeUnreachable, "network unreachable"}
	case errors.As(err, &netErr) && netErr.Timeout():
		return reason{CodeTimeout, "timed out"}
	case errors.As(err, &de):
		return reason{CodeConnection, "connection failed"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return reason{CodeConnection, "connection closed before a complete answer"}
	}
	// Connected, but what came back is not an HTTP/1.x answer we can
	// read: a banner, a bad status or header line, oversized headers, a
	// broken chunk.
	return reason{CodeNotHTTP, "not an HTTP answer"}
}
