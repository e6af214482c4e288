package acme

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"certmaker/core"
	"certmaker/storage"
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

// problems is ACME's one table from the core's error kinds to problem
// types and statuses. Handlers pick a more precise type where RFC 8555
// has one for their resource (badCSR for a finalize, badRevocationReason,
// rejectedIdentifier); anything unlisted is serverInternal.
var problems = map[core.Kind]struct {
	typ    string
	status int
}{
	core.Invalid:         {probMalformed, http.StatusBadRequest},
	core.Unauthenticated: {probUnauthorized, http.StatusUnauthorized},
	core.Disabled:        {probUnauthorized, http.StatusForbidden},
	core.Forbidden:       {probUnauthorized, http.StatusForbidden},
	core.NotFound:        {probMalformed, http.StatusNotFound},
	core.Exists:          {probMalformed, http.StatusConflict},
	core.Revoked:         {probAlreadyRevoked, http.StatusBadRequest},
	core.Expired:         {probMalformed, http.StatusBadRequest},
	core.ChallengeFailed: {probIncorrectResponse, http.StatusForbidden},
	core.Full:            {probServerInternal, http.StatusServiceUnavailable},
	core.TooMany:         {"rateLimited", http.StatusTooManyRequests},
}

// asProblem turns any handler error into a problem by its kind.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	k := core.KindOf(err)
	m, ok := problems[k]
	switch {
	case !ok:
		return internal(err)
	case k == core.NotFound:
		// Of a resource the handler did not name.
		return notFound("resource")
	case k == core.Full:
		// RFC 8555 section 6.6: 503 with Retry-After asks the client to
		// come back; the disk's path stays out of the detail.
		p := newProblem(m.typ, m.status, "%s; try again later", storage.ErrFull)
		p.retryAfter = "60"
		return p
	}
	return newProblem(m.typ, m.status, "%v", err)
}

// record is what a stored order or challenge keeps of a problem.
func (p *problem) record() *storage.ACMEProblem {
	return &storage.ACMEProblem{Type: p.Type, Detail: p.Detail, Status: p.Status}
}

// problemOf turns a stored problem back into its JSON form.
func problemOf(sp *storage.ACMEProblem) *problem {
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
