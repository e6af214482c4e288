package web

import (
	"net/http"

	"certmaker/core"
	"certmaker/httplog"
)

// statuses is the dashboard's one table from the core's error kinds to the
// status of the page that explains them; a page shows the error's own
// message, except for internal errors, which are logged and say nothing
// more. Every kind has its entry (kinds_test.go walks them).
var statuses = map[core.Kind]int{
	core.Internal:              http.StatusInternalServerError,
	core.Invalid:               http.StatusBadRequest,
	core.Unauthenticated:       http.StatusUnauthorized,
	core.Disabled:              http.StatusUnauthorized,
	core.Forbidden:             http.StatusNotFound,
	core.NotFound:              http.StatusNotFound,
	core.Exists:                http.StatusConflict,
	core.Revoked:               http.StatusGone,
	core.Expired:               http.StatusGone,
	core.Full:                  http.StatusServiceUnavailable,
	core.Unavailable:           http.StatusServiceUnavailable,
	core.Canceled:              499,
	core.BadReason:             http.StatusBadRequest,
	core.ChallengeFailed:       http.StatusUnprocessableEntity,
	core.ChallengeDNS:          http.StatusUnprocessableEntity,
	core.ChallengeConnection:   http.StatusUnprocessableEntity,
	core.ChallengeIncorrect:    http.StatusUnprocessableEntity,
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

// statusOf is the status of a page for err; 500 for internal errors.
func statusOf(err error) int {
	if st, ok := statuses[core.KindOf(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// fail renders an error of the core's calls with the status its kind
// gives (a refused request says why); anything else is a logged 500.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	if status := statusOf(err); status < http.StatusInternalServerError {
		d.renderError(w, r, v, status, err.Error())
		return
	}
	// The core logs a full or unreachable storage once per episode; the
	// page says which, without its paths or endpoints.
	switch core.KindOf(err) {
	case core.Full:
		d.renderError(w, r, v, http.StatusServiceUnavailable, "The CA's storage is full: nothing can be saved until an operator frees space. Try again later.")
		return
	case core.Unavailable:
		d.renderError(w, r, v, http.StatusServiceUnavailable, "The CA's storage cluster does not answer. Try again in a few seconds.")
		return
	}
	// The pattern, not the path: paths hold ids.
	d.log.Error("dashboard", "method", r.Method, "route", httplog.Route(r), "err", err)
	d.renderError(w, r, v, http.StatusInternalServerError, "Something went wrong on the server; the log says what.")
}
