package api_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"certmaker/app"
	"certmaker/ca"
	"certmaker/internal/testdb"
	"certmaker/store"
)

// benchConns is the concurrency of the parallel benchmarks, the same 32
// connections that `make load` runs wrk with: b.SetParallelism multiplies
// GOMAXPROCS, so on two cores it is 16.
const benchConns = 32

// benchServer is a whole API on a real, fsync'd bbolt file in b.TempDir(),
// the way `certmaker serve` wires it.
type benchServer struct {
	h     http.Handler
	db    *store.DB
	token string
	root  *ca.Issuer
}

func newBenchServer(b *testing.B, logger *slog.Logger) *benchServer {
	b.Helper()
	s, db, root, token := newAPI(b, logger)
	return &benchServer{h: s, db: db, token: token, root: root}
}

// newAPI wires an API the way serve does, on a fresh bbolt file in the
// test's temporary directory: an authority with an ECDSA P-256 root, and
// a user alice whose token it returns.
func newAPI(tb testing.TB, logger *slog.Logger) (*app.App, *store.DB, *ca.Issuer, string) {
	tb.Helper()
	return newAPIAt(tb, filepath.Join(tb.TempDir(), "ca.db"), logger)
}

// newAPIAt is newAPI with its database at path.
func newAPIAt(tb testing.TB, path string, logger *slog.Logger) (*app.App, *store.DB, *ca.Issuer, string) {
	tb.Helper()
	db, err := testdb.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	s, err := app.New(testConfig("http://ca.test:8880", "api test root"), db, app.Options{Logger: logger, NoDashboard: true})
	if err != nil {
		tb.Fatal(err)
	}
	token, err := s.Operator.AddUser(context.Background(), "alice", false)
	if err != nil {
		tb.Fatal(err)
	}
	return s, db, s.Core.Authority().Active(), token
}

// ocspRequestFor reads the certificate a request answered with (its serial
// in body) and builds an OCSP request for it.
func ocspRequestFor(tb testing.TB, db *store.DB, root *ca.Issuer, body string) (*x509.Certificate, []byte) {
	tb.Helper()
	serial, ok := new(big.Int).SetString(strings.TrimSpace(body), 10)
	if !ok {
		tb.Fatalf("issuing answered %q, not a serial", body)
	}
	c, err := db.Certificate(serial)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := ocsp.CreateRequest(leaf, root.Cert, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return leaf, der
}

// do serves one request and fails unless the status is want.
func (s *benchServer) do(b *testing.B, method, target, body string, want int) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if s.token != "" {
		r.Header.Set("X-Auth-Token", s.token)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	if w.Code != want {
		b.Errorf("%s %s: status %d, want %d: %s", method, target, w.Code, want, w.Body)
	}
	return w
}

// run measures one route: "serial" is one client at a time, so every
// request waits for its own commit; "parallel" is benchConns clients, whose
// commits bbolt's Batch groups, which is what throughput is made of.
func run(b *testing.B, f func(b *testing.B)) {
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			f(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(max(1, benchConns/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f(b)
			}
		})
	})
}

const simpleBody = `{"domains":["app.example.com"],"key_type":"ecdsa-p256"}`

// BenchmarkRequest is a whole simple request (ECDSA P-256, server-made
// key, durable) through the handler: auth, JSON, key, signature, commit.
// The "log" variant writes the request log line as serve does (to a
// discarding text handler), to show what logging costs.
func BenchmarkRequest(b *testing.B) {
	s := newBenchServer(b, nil)
	run(b, func(b *testing.B) { s.do(b, "POST", "/api/certificate/request", simpleBody, 200) })
	b.Run("log", func(b *testing.B) {
		s := newBenchServer(b, slog.New(slog.NewTextHandler(io.Discard, nil)))
		run(b, func(b *testing.B) { s.do(b, "POST", "/api/certificate/request", simpleBody, 200) })
	})
}

// BenchmarkRequestWithCSR is a whole CSR request: parse, signature check,
// signing, commit. The CSR is made once; its signature is checked every time.
func BenchmarkRequestWithCSR(b *testing.B) {
	s := newBenchServer(b, nil)
	key, err := ca.GenerateKey(ca.KeyECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "app.example.com"}, DNSNames: []string{"app.example.com"},
	}, key)
	if err != nil {
		b.Fatal(err)
	}
	csr := string(ca.CSRPEM(der))
	run(b, func(b *testing.B) { s.do(b, "POST", "/api/certificate/request-with-csr", csr, 200) })
}

// BenchmarkOCSP is an RFC 5019 GET for an issued certificate through the
// whole handler: the status read from the store and the cached signature.
func BenchmarkOCSP(b *testing.B) {
	s := newBenchServer(b, nil)
	w := s.do(b, "POST", "/api/certificate/request", simpleBody, 200)
	leaf, req := ocspRequestFor(b, s.db, s.root, w.Body.String())
	target := "/api/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req))
	s.token = ""
	resp := s.do(b, "GET", target, "", 200)
	if _, err := ocsp.ParseResponseForCert(resp.Body.Bytes(), leaf, s.root.Cert); err != nil {
		b.Fatal(err)
	}
	run(b, func(b *testing.B) { s.do(b, "GET", target, "", 200) })
}

// BenchmarkObtain reads a certificate back as PEM: auth and one store read.
func BenchmarkObtain(b *testing.B) {
	s := newBenchServer(b, nil)
	w := s.do(b, "POST", "/api/certificate/request", simpleBody, 200)
	target := "/api/certificate/" + strings.TrimSpace(w.Body.String()) + "/obtain"
	resp := s.do(b, "GET", target, "", 200)
	if blk, _ := pem.Decode(resp.Body.Bytes()); blk == nil {
		b.Fatal("not PEM")
	}
	run(b, func(b *testing.B) { s.do(b, "GET", target, "", 200) })
}
