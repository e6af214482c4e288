package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// record collects what the request log line says; handlers fill it in
// through the request's context.
type record struct {
	route  string
	user   string
	status int
	err    error
	full   error // a write failed for lack of space (store.ErrFull)
}

type recordKey struct{}

func recordOf(r *http.Request) *record {
	rec, _ := r.Context().Value(recordKey{}).(*record)
	return rec
}

// statusWriter remembers the status a handler wrote. It holds the request's
// record too, so that both cost one allocation.
type statusWriter struct {
	http.ResponseWriter
	rec record
}

func (w *statusWriter) WriteHeader(code int) {
	if w.rec.status == 0 {
		w.rec.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.rec.status == 0 {
		w.rec.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequest writes one line per request: method, route pattern (never the
// raw path, which for OCSP is long and for others may hold ids), status,
// duration, user and the client's address. Tokens and bodies are never logged.
//
// Failures log at Error, other requests at Info, except the successes of
// the routes that quietRoute names, which log at Debug.
func (s *Server) logRequest(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(context.WithValue(r.Context(), recordKey{}, &sw.rec))
	next.ServeHTTP(sw, r)
	rec := &sw.rec
	s.metrics.observeRequest(rec.route, r.Method, rec.status)
	s.noteStorage(r.Context(), rec.full)

	level := slog.LevelInfo
	switch {
	case rec.err != nil:
		level = slog.LevelError
	case rec.status < http.StatusBadRequest && quietRoute(rec.route):
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", rec.route),
		slog.Int("status", rec.status),
		slog.Duration("duration", time.Since(start)),
		slog.String("user", rec.user),
		// The peer's address as the listener saw it; a proxy's
		// X-Forwarded-For is the client's word, so it is not used.
		slog.String("client", r.RemoteAddr),
	}
	if rec.err != nil {
		attrs = append(attrs, slog.Any("err", rec.err))
	}
	s.log.LogAttrs(ctx, level, "request", attrs...)
}

// noteStorage logs once at Error when writes start failing for lack of
// space, and once at Info when they succeed again: a full disk fails every
// write, and a line per request would bury the one that matters (and could
// not be written anyway). full is the request's own failure, if any.
func (s *Server) noteStorage(ctx context.Context, full error) {
	switch {
	case full != nil:
		if s.storageFull.CompareAndSwap(false, true) {
			s.log.ErrorContext(ctx, "the CA's storage is full: writes fail (503) until space is freed", "err", full)
		}
	case s.storageFull.Load() && !s.store.WritesFailing():
		if s.storageFull.CompareAndSwap(true, false) {
			s.log.InfoContext(ctx, "the CA's storage accepts writes again")
		}
	}
}

// quietRoute reports whether a route's successes log at Debug rather than
// Info: relying parties fetch OCSP answers and CRLs, and health checks poll,
// up to thousands of times a second, which would bury every other line (and
// cost a write each). Every request is still counted by route and status in
// certmaker_http_requests_total, and OCSP answers by status in
// certmaker_ocsp_responses_total; a failure to answer still logs at Error.
// The patterns are those routes registers.
func quietRoute(route string) bool {
	switch route {
	case "/healthz",
		"/api/ocsp/*request", "/api/ocsp", "/api/crl", "/api/crl/:fingerprint",
		"/api/v1/ocsp/*request", "/api/v1/ocsp", "/api/v1/crl", "/api/v1/crl/:fingerprint":
		return true
	}
	return false
}

func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request, v any) {
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic in handler", slog.String("method", r.Method), slog.Any("panic", v))
	if rec := recordOf(r); rec != nil && rec.status != 0 {
		return // the answer has started; a second status would corrupt it
	}
	writeText(w, http.StatusInternalServerError, "internal error\n")
}
