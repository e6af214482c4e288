package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"certmaker/core"
	"certmaker/httplog"
	"certmaker/storage"
)

// Errors of the API's own decoding; the core brings the rest, with kinds.
var (
	errNoToken    = core.Errorf(core.Unauthenticated, "missing X-Auth-Token header")
	errRoute      = core.Errorf(core.NotFound, "no such route")
	errMethod     = errors.New("method not allowed on this route")
	errTooLarge   = errors.New("request body too large")
	errBadRequest = core.Errorf(core.Invalid, "bad request")
)

// statuses is the API's one table from the core's error kinds to
// statuses; every kind has its entry (kinds_test.go walks them). The API's
// own transport errors come first (StatusOf).
var statuses = map[core.Kind]int{
	core.Internal:              http.StatusInternalServerError,
	core.Invalid:               http.StatusBadRequest,
	core.Unauthenticated:       http.StatusUnauthorized,
	core.Disabled:              http.StatusUnauthorized,
	core.Forbidden:             http.StatusNotFound, // never say whose it is
	core.NotFound:              http.StatusNotFound,
	core.Exists:                http.StatusConflict,
	core.Revoked:               http.StatusGone,
	core.Expired:               http.StatusGone,
	core.Full:                  http.StatusServiceUnavailable,
	core.Unavailable:           http.StatusServiceUnavailable,
	core.Canceled:              statusClientClosed,
	core.BadReason:             http.StatusBadRequest,
	core.ChallengeFailed:       http.StatusExpectationFailed,
	core.ChallengeDNS:          http.StatusExpectationFailed,
	core.ChallengeConnection:   http.StatusExpectationFailed,
	core.ChallengeIncorrect:    http.StatusExpectationFailed,
	core.BadCSR:                http.StatusBadRequest,
	core.NotReady:              http.StatusConflict,
	core.RejectedIdentifier:    http.StatusBadRequest,
	core.UnsupportedIdentifier: http.StatusBadRequest,
	core.AccountInactive:       http.StatusUnauthorized,
	core.NoAccount:             http.StatusNotFound,
	core.BindingRequired:       http.StatusBadRequest,
	core.BadContact:            http.StatusBadRequest,
	core.UnsupportedContact:    http.StatusBadRequest,
	core.TooMany:               http.StatusTooManyRequests,
	core.AlreadyReplaced:       http.StatusConflict,
	core.PolicyDenied:          http.StatusForbidden,
}

// retryFull is the Retry-After, in seconds, of an answer refused because
// the CA's storage is full: long enough for an operator to free space,
// short enough that a script's retry soon succeeds.
const retryFull = "60"

// retryUnavailable is the Retry-After, in seconds, of an answer refused
// because the storage cluster does not answer: an etcd election takes a
// few seconds, a member's restart a few more.
const retryUnavailable = "5"

// statusClientClosed is nginx's "client closed request": the client went
// away (say, during an RSA-4096 key generation) and will read no answer.
// It keeps such requests out of the 5xx counts that should page someone.
const statusClientClosed = 499

// StatusOf is the HTTP status an error of the API's calls stands for.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	if st, ok := statuses[core.KindOf(err)]; ok {
		return st
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
		httplog.SetError(r, err)
		msg = "internal error"
	case core.KindOf(err) == core.Full:
		// The file's path and the system call stay in the core's log, once.
		msg = storage.ErrFull.Error() + "; try again later"
		w.Header().Set("Retry-After", retryFull)
	case errors.Is(err, storage.ErrKeyBehind):
		// The store logged which key file, once.
		msg = storage.ErrKeyBehind.Error() + "; try again later"
		w.Header().Set("Retry-After", retryUnavailable)
	case core.KindOf(err) == core.Unavailable:
		// Which members did not answer stays in the core's log, once.
		msg = storage.ErrUnavailable.Error() + "; try again shortly"
		w.Header().Set("Retry-After", retryUnavailable)
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
