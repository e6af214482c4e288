package api_test

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// headerWriter is the least a ResponseWriter can be: a header map, reused
// between requests, and a status. It keeps httptest's own allocations out
// of BenchmarkOCSPHandler's figures.
type headerWriter struct {
	h      http.Header
	status int
}

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(code int)        { w.status = code }

// BenchmarkOCSPHandler is what the server itself does for an RFC 5019 GET
// of a cached answer, from the request log's wrapper to the last header:
// one parsed request served again and again, so B/op and allocs/op are the
// server's own. "log=info" logs as `certmaker serve` does (text, Info).
func BenchmarkOCSPHandler(b *testing.B) {
	for _, bc := range []struct {
		name   string
		logger *slog.Logger
	}{
		{"log=none", nil},
		{"log=info", slog.New(slog.NewTextHandler(io.Discard, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newBenchServer(b, bc.logger)
			// Enough certificates that the bucket is a tree of its own,
			// as in any real store, not inlined in its parent.
			for range 20 {
				s.do(b, "POST", "/api/certificate/request", simpleBody, 200)
			}
			w := s.do(b, "POST", "/api/certificate/request", simpleBody, 200)
			_, der := ocspRequestFor(b, s.db, s.root, w.Body.String())
			// Escaped as scripts/load.sh escapes it: %2B, %2F and %3D.
			b64 := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(base64.StdEncoding.EncodeToString(der))
			req := httptest.NewRequest("GET", "/api/ocsp/"+b64, nil)
			hw := &headerWriter{h: make(http.Header)}
			serve := func() {
				clear(hw.h)
				hw.status = 0
				s.h.ServeHTTP(hw, req)
			}
			serve()
			if hw.status != 200 || hw.h.Get("Etag") == "" {
				b.Fatalf("status %d, headers %v", hw.status, hw.h)
			}
			for b.Loop() {
				serve()
			}
		})
	}
}
