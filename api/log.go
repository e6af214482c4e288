package api

import (
	"context"
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
}

type recordKey struct{}

func recordOf(r *http.Request) *record {
	rec, _ := r.Context().Value(recordKey{}).(*record)
	return rec
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	rec *record
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
// duration and user. Tokens and bodies are never logged.
func (s *Server) logRequest(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	rec := &record{}
	r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
	next.ServeHTTP(&statusWriter{ResponseWriter: w, rec: rec}, r)
	s.metrics.observeRequest(rec.route, r.Method, rec.status)
	attrs := []any{
		"method", r.Method,
		"route", rec.route,
		"status", rec.status,
		"duration", time.Since(start),
		"user", rec.user,
	}
	if rec.err != nil {
		attrs = append(attrs, "err", rec.err)
		s.log.Error("request", attrs...)
		return
	}
	s.log.Info("request", attrs...)
}

func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request, v any) {
	s.log.Error("panic in handler", "method", r.Method, "panic", v)
	if rec := recordOf(r); rec != nil && rec.status != 0 {
		return // the answer has started; a second status would corrupt it
	}
	writeText(w, http.StatusInternalServerError, "internal error\n")
}
