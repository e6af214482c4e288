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
	// Reason is one of a small closed set of short sentences for an
	// operator ("connection refused", "not an HTTP answer", "HTTP 404",
	// "wrong token", "timed out after 5s", ...). It never carries bytes
	// the target sent: a solve must not turn the CA into a tool that reads
	// banners off the hosts it can reach.
	Reason string
	Err    error // underlying cause, may be nil; may hold the target's bytes
}

func (e *Error) Error() string { return e.Identifier + ": " + e.Reason }

func (e *Error) Unwrap() error { return e.Err }

// dialError marks a failure to connect, before any byte was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// errTimeout is the cause of a fetch's own deadline, to tell it apart from a
// caller's cancellation.
var errTimeout = errors.New("challenge fetch timed out")

// Reasons for a target that answered, but not with HTTP we can judge.
const (
	reasonNotHTTP    = "not an HTTP answer"
	reasonClosed     = "connection closed before a complete answer"
	reasonLookup     = "name lookup failed"
	reasonConnection = "connection failed"
)

// stopped is the reason when ctx, the fetch's context, is done: its cause
// says more than the error it left behind. "" while ctx is live.
func (c *Checker) stopped(ctx context.Context) string {
	switch cause := context.Cause(ctx); {
	case cause == errTimeout:
		return fmt.Sprintf("timed out after %s", c.timeout)
	case errors.Is(cause, context.DeadlineExceeded):
		return "timed out"
	case cause != nil:
		return "canceled"
	}
	return ""
}

// lookupReason turns a failed name lookup into a fixed reason.
func (c *Checker) lookupReason(ctx context.Context, err error) string {
	if r := c.stopped(ctx); r != "" {
		return r
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host"
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return "timed out looking up the name"
	}
	// The resolver's text may come from a DNS server; it is not repeated.
	return reasonLookup
}

// fetchReason turns a failed connect, request or body read into a fixed
// reason. The error's text is never used: net/http quotes what the target
// sent ("malformed HTTP status code \"SSH-2.0-...\"").
func (c *Checker) fetchReason(ctx context.Context, err error) string {
	if r := c.stopped(ctx); r != "" {
		return r
	}
	var netErr net.Error
	var de *dialError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.As(err, &de):
		return reasonConnection
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return reasonClosed
	}
	// Connected, but what came back is not an HTTP/1.x answer we can
	// read: a banner, a bad status or header line, oversized headers, a
	// broken chunk.
	return reasonNotHTTP
}
