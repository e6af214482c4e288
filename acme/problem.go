package acme

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"certmaker/store"
)

// Problem types (RFC 8555 6.7), without their common prefix.
const (
	probAccountDoesNotExist     = "accountDoesNotExist"
	probAlreadyRevoked          = "alreadyRevoked"
	probBadCSR                  = "badCSR"
	probBadNonce                = "badNonce"
	probBadPublicKey            = "badPublicKey"
	probBadRevocationReason     = "badRevocationReason"
	probBadSignatureAlgorithm   = "badSignatureAlgorithm"
	probConnection              = "connection"
	probDNS                     = "dns"
	probExternalAccountRequired = "externalAccountRequired"
	probIncorrectResponse       = "incorrectResponse"
	probInvalidContact          = "invalidContact"
	probMalformed               = "malformed"
	probOrderNotReady           = "orderNotReady"
	probRejectedIdentifier      = "rejectedIdentifier"
	probServerInternal          = "serverInternal"
	probUnauthorized            = "unauthorized"
	probUnsupportedContact      = "unsupportedContact"
	probUnsupportedIdentifier   = "unsupportedIdentifier"
)

const problemPrefix = "urn:ietf:params:acme:error:"

// problem is an RFC 7807 problem document and the error every handler
// fails with; anything else is rendered as serverInternal.
type problem struct {
	Type       string   `json:"type"`
	Detail     string   `json:"detail,omitempty"`
	Status     int      `json:"status,omitempty"`
	Algorithms []string `json:"algorithms,omitempty"`
	location   string   // Location header, e.g. the account that holds a key
	retryAfter string   // Retry-After header, in seconds
	cause      error    // logged, never shown
}

func (p *problem) Error() string { return p.Type + ": " + p.Detail }

func (p *problem) Unwrap() error { return p.cause }

// newProblem makes a problem of a short type ("malformed") with a status.
func newProblem(typ string, status int, format string, args ...any) *problem {
	return &problem{Type: problemPrefix + typ, Status: status, Detail: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *problem {
	return newProblem(probMalformed, http.StatusBadRequest, format, args...)
}

func unauthorized(format string, args ...any) *problem {
	return newProblem(probUnauthorized, http.StatusForbidden, format, args...)
}

func notFound(what string) *problem {
	return newProblem(probMalformed, http.StatusNotFound, "no such %s", what)
}

// internal wraps an unexpected error: the client learns nothing of it.
func internal(err error) *problem {
	p := newProblem(probServerInternal, http.StatusInternalServerError, "internal error")
	p.cause = err
	return p
}

// asProblem turns any handler error into a problem; store.ErrNotFound of
// a resource the handler did not map is a 404.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("resource")
	}
	if errors.Is(err, store.ErrFull) {
		// RFC 8555 section 6.6: 503 with Retry-After asks the client to
		// come back; the disk's path stays out of the detail.
		p := newProblem(probServerInternal, http.StatusServiceUnavailable, "%s; try again later", store.ErrFull)
		p.retryAfter = "60"
		return p
	}
	return internal(err)
}

// record is what a stored order or challenge keeps of a problem.
func (p *problem) record() *store.ACMEProblem {
	return &store.ACMEProblem{Type: p.Type, Detail: p.Detail, Status: p.Status}
}

// problemOf turns a stored problem back into its JSON form.
func problemOf(sp *store.ACMEProblem) *problem {
	if sp == nil {
		return nil
	}
	return &problem{Type: sp.Type, Detail: sp.Detail, Status: sp.Status}
}

// writeProblem renders err as application/problem+json. Internal errors go
// to the request log through onInternal.
func writeProblem(w http.ResponseWriter, err error, onInternal func(error)) {
	p := asProblem(err)
	if p.cause != nil && p.Type == problemPrefix+probServerInternal && onInternal != nil {
		onInternal(p.cause)
	}
	if p.location != "" {
		w.Header().Set("Location", p.location)
	}
	if p.retryAfter != "" {
		w.Header().Set("Retry-After", p.retryAfter)
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(body)
}
