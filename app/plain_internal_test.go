package app

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPlainRedirect_StaysHome: whatever the request line, the plain
// listener's redirect names the public URL's host (a review found an
// opaque request line, "GET x:@evil.example/p", pointed it elsewhere).
func TestPlainRedirect_StaysHome(t *testing.T) {
	h := plainHandler(http.NotFoundHandler(), "https://ca.home.lan")
	for _, line := range []string{"x:@evil.example/p", "/ok?q=1", "//evil.example/p", "http://evil.example/p", "*"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", line)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		srv.Close()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode == http.StatusPermanentRedirect && !strings.HasPrefix(loc, "https://ca.home.lan/") {
			t.Errorf("GET %s: redirected to %q, off the public URL's host", line, loc)
		}
	}
}

// TestPlainPaths_WholeSegments: the plain listener serves its paths and
// what lies below them, never a longer name that merely starts the same
// ("/trustx", "/api/crlfoo"): those go to HTTPS like everything else.
func TestPlainPaths_WholeSegments(t *testing.T) {
	served := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := plainHandler(served, "https://ca.home.lan")
	for path, plain := range map[string]bool{
		"/trust": true, "/trust/root.crt": true, "/trust/qr.png": true,
		"/api/crl": true, "/api/crl/abc123": true, "/api/v1/crl": true,
		"/api/ocsp": true, "/api/ocsp/MEow": true, "/api/issuer/abc.crt": true,
		"/roots.pem": true, "/intermediate.pem": true, "/healthz": true, "/static/app.css": true,
		"/trustx": false, "/trust.html": false, "/api/crlfoo": false, "/api/crl-x": false,
		"/api/ocspx": false, "/api/v1/crlx": false, "/roots.pemx": false, "/healthzz": false,
		"/intermediate.pem.bak": false, "/static": false, "/api/issuer": false,
		"/signin": false, "/api/certificate/request": false, "/": false,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://ca.home.lan"+path, nil))
		switch {
		case plain && rec.Code != http.StatusTeapot:
			t.Errorf("%s: %d, want it served on plain HTTP", path, rec.Code)
		case !plain && (rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://ca.home.lan"+path):
			t.Errorf("%s: %d to %q, want a redirect to the same path over HTTPS", path, rec.Code, rec.Header().Get("Location"))
		}
	}
}
