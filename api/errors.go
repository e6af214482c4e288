package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/inventory"
	"certmaker/store"
)

// Errors of the API itself; ca, store and challenge bring their own.
var (
	errNoToken      = errors.New("missing X-Auth-Token header")
	errUnknownToken = errors.New("no user has this token")
	errDisabled     = errors.New("user is disabled")
	errRoute        = errors.New("no such route")
	errMethod       = errors.New("method not allowed on this route")
	errTooLarge     = errors.New("request body too large")
	errBadRequest   = errors.New("bad request")
	errExpired      = errors.New("challenge expired")
	errNotFound     = errors.New("not found")
)

// statuses maps every error an API call can end in to its status; the
// first match wins. Anything unlisted is a 500 with a generic message.
var statuses = []struct {
	err    error
	status int
}{
	{errNoToken, http.StatusUnauthorized},
	{errDisabled, http.StatusUnauthorized},
	{errUnknownToken, http.StatusNotFound},
	{errRoute, http.StatusNotFound},
	{errNotFound, http.StatusNotFound},
	{store.ErrNotFound, http.StatusNotFound},
	{errMethod, http.StatusMethodNotAllowed},
	{errTooLarge, http.StatusRequestEntityTooLarge},
	{errBadRequest, http.StatusBadRequest},
	{ca.ErrInvalid, http.StatusBadRequest},
	{ca.ErrKeyType, http.StatusBadRequest},
	{ca.ErrWeakKey, http.StatusBadRequest},
	{inventory.ErrInvalid, http.StatusBadRequest},
	{challenge.ErrPort, http.StatusBadRequest},
	{errExpired, http.StatusGone},
	{store.ErrRevoked, http.StatusGone},
	{store.ErrFull, http.StatusServiceUnavailable},
}

// retryFull is the Retry-After, in seconds, of an answer refused because
// the CA's storage is full: long enough for an operator to free space,
// short enough that a script's retry soon succeeds.
const retryFull = "60"

// statusClientClosed is nginx's "client closed request": the client went
// away (say, during an RSA-4096 key generation) and will read no answer.
// It keeps such requests out of the 5xx counts that should page someone.
const statusClientClosed = 499

// StatusOf is the HTTP status an error of the API's calls stands for; the
// dashboard renders its failures by the same table.
func StatusOf(err error) int {
	var chErr *challenge.Error
	if errors.As(err, &chErr) {
		return http.StatusExpectationFailed
	}
	if errors.Is(err, context.Canceled) {
		return statusClientClosed
	}
	for _, s := range statuses {
		if errors.Is(err, s.err) {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// Error renders any failure as one line of text/plain with its status. An
// internal error's details go to the log, not to the client.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	msg := err.Error()
	switch {
	case status == http.StatusInternalServerError:
		if rec := recordOf(r); rec != nil {
			rec.err = err
		}
		msg = "internal error"
	case errors.Is(err, store.ErrFull):
		// The file's path and the system call stay in the log, once.
		if rec := recordOf(r); rec != nil {
			rec.full = err
		}
		msg = store.ErrFull.Error() + "; try again later"
		w.Header().Set("Retry-After", retryFull)
	}
	writeText(w, status, oneLine(msg)+"\n")
}

// maxMessage bounds an error message: messages quote the value they refuse,
// and a client's value may be as long as its body.
const maxMessage = 512

// oneLine keeps a message to one line of at most maxMessage bytes, cut on
// a rune boundary, whatever the values quoted in it hold.
func oneLine(msg string) string {
	msg = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, msg)
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "..."
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// badRequest wraps a message as a 400.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}
