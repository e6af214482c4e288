// Package httplog is the request log and the request metrics every door
// shares: one line and one count per request, labelled with the route
// pattern the door that answered names (never the raw path) and the user
// it authenticated. Doors call SetRoute, SetUser, Quiet and SetError on
// the request; the Logger wraps the composed handler once.
package httplog

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// record collects what the request log line says; handlers fill it in
// through the request's context.
type record struct {
	route  string
	user   string
	status int
	quiet  bool // a success logs at Debug
	err    error
}

type recordKey struct{}

func recordOf(r *http.Request) *record {
	rec, _ := r.Context().Value(recordKey{}).(*record)
	return rec
}

// SetRoute labels the request's log line and metrics with a route pattern
// (never the raw path, which for OCSP is long and for others holds ids).
func SetRoute(r *http.Request, pattern string) {
	if rec := recordOf(r); rec != nil {
		rec.route = pattern
	}
}

// SetUser names the user of the request in its log line.
func SetUser(r *http.Request, name string) {
	if rec := recordOf(r); rec != nil {
		rec.user = name
	}
}

// Quiet makes the request's success log at Debug rather than Info:
// relying parties fetch OCSP answers and CRLs, and health checks poll, up
// to thousands of times a second, which would bury every other line (and
// cost a write each). Every request is still counted by route and status;
// a failure still logs at Info or Error.
func Quiet(r *http.Request) {
	if rec := recordOf(r); rec != nil {
		rec.quiet = true
	}
}

// SetError records an internal error: the line logs at Error with it.
func SetError(r *http.Request, err error) {
	if rec := recordOf(r); rec != nil {
		rec.err = err
	}
}

// Started reports whether the answer's status has been written: a panic
// handler must not write a second one.
func Started(r *http.Request) bool {
	rec := recordOf(r)
	return rec != nil && rec.status != 0
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

// Logger writes one line per request and counts it.
type Logger struct {
	log      *slog.Logger
	requests *prometheus.CounterVec
}

// New makes a Logger that logs to log and registers its counter in reg.
func New(log *slog.Logger, reg prometheus.Registerer) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Logger{
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certmaker_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(l.requests)
	return l
}

// Wrap logs every request next answers: method, route pattern, status,
// duration, user and the client's address. Tokens and bodies are never
// logged. Failures with an internal error log at Error, quiet successes
// at Debug, the rest at Info.
func (l *Logger) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, &sw.rec))
		next.ServeHTTP(sw, r)
		rec := &sw.rec
		l.observe(rec.route, r.Method, rec.status)

		level := slog.LevelInfo
		switch {
		case rec.err != nil:
			level = slog.LevelError
		case rec.status < http.StatusBadRequest && rec.quiet:
			level = slog.LevelDebug
		}
		ctx := r.Context()
		if !l.log.Enabled(ctx, level) {
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
		l.log.LogAttrs(ctx, level, "request", attrs...)
	})
}

func (l *Logger) observe(route, method string, status int) {
	if route == "" {
		route = "unmatched"
	}
	l.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
}

// methodLabel keeps the method label to the known methods: a client may
// send any token as its method, and every new label value is a series
// Prometheus keeps forever.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// Route is the route pattern a door labelled the request with.
func Route(r *http.Request) string {
	if rec := recordOf(r); rec != nil {
		return rec.route
	}
	return ""
}
