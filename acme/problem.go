package acme

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"certmaker/core"
	"certmaker/storage"
)

// Problem types (RFC 8555 6.7), without their common prefix.
const (
	probAboutBlank              = "about:blank" // RFC 7807 4.2: no type beyond the status; no prefix
	probAccountDoesNotExist     = "accountDoesNotExist"
	probAlreadyReplaced         = "alreadyReplaced" // RFC 9773 7.4
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
	probRateLimited             = "rateLimited"
	probUnsupportedIdentifier   = "unsupportedIdentifier"
)

const problemPrefix = "urn:ietf:params:acme:error:"

// problem is an RFC 7807 problem document and the error every handler
// fails with; anything else is rendered as serverInternal.
type problem struct {
	Type       string   `json:"type"`
	Title      string   `json:"title,omitempty"`
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

// problemType says how ACME names one of the core's kinds: its problem
// type (without the common prefix) and status.
type problemType struct {
	typ    string
	status int
}

// uri is the problem's type as a document carries it.
func (m problemType) uri() string {
	if m.typ == probAboutBlank {
		return m.typ
	}
	return problemPrefix + m.typ
}

// problems is ACME's one table from the core's error kinds to problem
// types and statuses; every kind has its entry (kinds_test.go walks them).
var problems = map[core.Kind]problemType{
	core.Internal:              {probServerInternal, http.StatusInternalServerError},
	core.Invalid:               {probMalformed, http.StatusBadRequest},
	core.Unauthenticated:       {probUnauthorized, http.StatusUnauthorized},
	core.Disabled:              {probUnauthorized, http.StatusForbidden},
	core.Forbidden:             {probUnauthorized, http.StatusForbidden},
	core.NotFound:              {probMalformed, http.StatusNotFound},
	core.Exists:                {probMalformed, http.StatusConflict},
	core.Revoked:               {probAlreadyRevoked, http.StatusBadRequest},
	core.Expired:               {probMalformed, http.StatusBadRequest},
	core.Full:                  {probAboutBlank, http.StatusServiceUnavailable},
	core.Unavailable:           {probAboutBlank, http.StatusServiceUnavailable},
	core.Canceled:              {probServerInternal, statusClientClosed},
	core.BadReason:             {probBadRevocationReason, http.StatusBadRequest},
	core.ChallengeFailed:       {probUnauthorized, http.StatusForbidden},
	core.ChallengeIncorrect:    {probIncorrectResponse, http.StatusForbidden},
	core.ChallengeDNS:          {probDNS, http.StatusForbidden},
	core.ChallengeConnection:   {probConnection, http.StatusForbidden},
	core.BadCSR:                {probBadCSR, http.StatusBadRequest},
	core.NotReady:              {probOrderNotReady, http.StatusForbidden},
	core.RejectedIdentifier:    {probRejectedIdentifier, http.StatusBadRequest},
	core.UnsupportedIdentifier: {probUnsupportedIdentifier, http.StatusBadRequest},
	core.AccountInactive:       {probUnauthorized, http.StatusUnauthorized},
	core.NoAccount:             {probAccountDoesNotExist, http.StatusBadRequest},
	core.BindingRequired:       {probExternalAccountRequired, http.StatusBadRequest},
	core.BadContact:            {probInvalidContact, http.StatusBadRequest},
	core.UnsupportedContact:    {probUnsupportedContact, http.StatusBadRequest},
	core.TooMany:               {probRateLimited, http.StatusTooManyRequests},
	core.AlreadyReplaced:       {probAlreadyReplaced, http.StatusConflict},
	core.PolicyDenied:          {probRejectedIdentifier, http.StatusForbidden},
}

// statusClientClosed is nginx's "client closed request": the client went
// away and reads no answer; it keeps such requests out of the 5xx counts.
const statusClientClosed = 499

// retryFull is the Retry-After, in seconds, of an answer refused because
// the CA's storage is full, as the API's.
const retryFull = "60"

// retryUnavailable is the Retry-After, in seconds, of an answer refused
// because the storage cluster does not answer, as the API's.
const retryUnavailable = "5"

// asProblem turns any handler error into a problem: the door's own, or by
// the core's kind. An internal error's message stays in the log.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	k := core.KindOf(err)
	m, ok := problems[k]
	switch {
	case !ok, k == core.Internal:
		return internal(err)
	case k == core.Full:
		// RFC 8555 6.7 has no type for it: about:blank (RFC 7807 4.2)
		// says the status tells all, and 503 with Retry-After asks the
		// client to come back (RFC 8555 6.6). The disk's path stays out.
		return &problem{Type: m.uri(), Title: http.StatusText(m.status), Status: m.status,
			Detail: storage.ErrFull.Error() + "; try again later", retryAfter: retryFull}
	case errors.Is(err, storage.ErrKeyBehind):
		return &problem{Type: m.uri(), Title: http.StatusText(m.status), Status: m.status,
			Detail: storage.ErrKeyBehind.Error() + "; try again later", retryAfter: retryUnavailable}
	case k == core.Unavailable:
		// The same for a storage cluster without quorum: which members
		// did not answer stays in the log.
		return &problem{Type: m.uri(), Title: http.StatusText(m.status), Status: m.status,
			Detail: storage.ErrUnavailable.Error() + "; try again shortly", retryAfter: retryUnavailable}
	}
	p = &problem{Type: m.uri(), Status: m.status, Detail: err.Error(), cause: err}
	if d, ok := core.RetryAfter(err); ok {
		p.retryAfter = strconv.Itoa(max(int(d.Round(time.Second)/time.Second), 1))
	}
	return p
}

// problemOf turns what an order or challenge keeps of its failure back
// into a problem document: by its kind, or as stored before kinds were
// kept.
func problemOf(sp *storage.ACMEProblem) *problem {
	switch {
	case sp == nil:
		return nil
	case sp.Kind == "":
		return &problem{Type: sp.Type, Detail: sp.Detail, Status: sp.Status}
	}
	m, ok := problems[core.Kind(sp.Kind)]
	if !ok {
		m = problems[core.Internal]
	}
	return &problem{Type: m.uri(), Detail: sp.Detail, Status: m.status}
}

// writeProblem renders err as application/problem+json. Internal errors go
// to the request log through onInternal.
func writeProblem(w http.ResponseWriter, err error, onInternal func(error)) {
	p := asProblem(err)
	if p.cause != nil && p.Status == http.StatusInternalServerError && onInternal != nil {
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
