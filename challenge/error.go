package challenge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
)

// Error says which identifier failed its check and why.
type Error struct {
	Identifier string
	Reason     string // a short sentence for an operator, e.g. "connection refused"
	Err        error  // underlying cause, may be nil
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

// explain turns a lookup or fetch error into a short reason. ctx is the
// fetch's context: once it is done, its cause says more than err does.
func (c *Checker) explain(ctx context.Context, err error) string {
	switch cause := context.Cause(ctx); {
	case cause == errTimeout:
		return fmt.Sprintf("timed out after %s", c.timeout)
	case errors.Is(cause, context.DeadlineExceeded):
		return "timed out"
	case cause != nil:
		return "canceled"
	}
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host"
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return "timed out looking up the name"
	case errors.As(err, &dnsErr):
		return "name lookup failed: " + dnsErr.Err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete answer"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	}
	// url.Error repeats the method and our IP-based URL; the operator
	// already knows which identifier this is about.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return "fetch failed: " + err.Error()
}
