package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"certmaker/httplog"
)

// hardened serves e's API through httplog.NewHTTPServer, the server certmaker
// runs, with the timeouts shortened by adjust so tests stay fast.
func hardened(t *testing.T, e *env, adjust func(*http.Server)) *httptest.Server {
	t.Helper()
	h := e.srv.Config.Handler
	hs := httptest.NewUnstartedServer(h)
	hs.Config = httplog.NewHTTPServer(h, nil)
	if adjust != nil {
		adjust(hs.Config)
	}
	hs.Start()
	t.Cleanup(hs.Close)
	return hs
}

func TestNewHTTPServer_Limits(t *testing.T) {
	s := httplog.NewHTTPServer(http.NotFoundHandler(), nil)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Errorf("timeouts header %s, read %s, write %s, idle %s: every one must be set",
			s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
	if s.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("read header timeout %s lets slow clients hold connections", s.ReadHeaderTimeout)
	}
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
		t.Errorf("max header bytes %d", s.MaxHeaderBytes)
	}
	if s.ErrorLog == nil {
		t.Error("no error log: net/http would write to the default logger")
	}
}

func TestNewHTTPServer_GiantHeaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	hs := hardened(t, e, nil)
	get := func(hdr, value string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/api/root-certificate/obtain", nil)
		req.Header.Set("X-Auth-Token", e.tokens["alice"])
		req.Header.Set(hdr, value)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("X-Padding", strings.Repeat("p", 32<<10)); code != 200 {
		t.Errorf("32 KiB of headers: %d, want 200", code)
	}
	if code := get("X-Padding", strings.Repeat("p", 128<<10)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("128 KiB header: %d, want 431", code)
	}
	if code := get("X-Auth-Token", strings.Repeat("t", 1<<20)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MiB token: %d, want 431", code)
	}
	if code := get("X-Padding", "ok"); code != 200 {
		t.Errorf("after giant headers: %d", code)
	}
}

// TestNewHTTPServer_Slowloris: a client that trickles its headers and never
// finishes is cut off at ReadHeaderTimeout, however steadily it trickles.
func TestNewHTTPServer_Slowloris(t *testing.T) {
	e := newEnv(t, envOptions{})
	hs := hardened(t, e, func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, conn) // returns when the server closes
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case d := <-closed:
			if d > 2*time.Second {
				t.Errorf("cut off after %s, want about 300ms", d)
			}
			// Others are still served.
			if r := e.do("GET", "/healthz", "", ""); r.status != 200 {
				t.Errorf("healthz: %d", r.status)
			}
			return
		case <-tick.C:
			if time.Since(start) > 5*time.Second {
				t.Fatal("a trickling client held its connection for 5s")
			}
			conn.Write([]byte("a")) // errors once the server has closed
		}
	}
}

// TestNewHTTPServer_SlowBody: a body that stops arriving ends at
// ReadTimeout with a 4xx, not a handler stuck forever.
func TestNewHTTPServer_SlowBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	hs := hardened(t, e, func(s *http.Server) { s.ReadTimeout = 400 * time.Millisecond })
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/certificate/request HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Length: 1000\r\n\r\n{\"domains\":", e.tokens["alice"])
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	d := time.Since(start)
	if err != nil {
		t.Fatalf("stalled body: %v, want a 400 answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("stalled body: %d, want 400", resp.StatusCode)
	}
	if d > 3*time.Second {
		t.Errorf("stalled body answered after %s, want about 400ms", d)
	}
	if n, err := e.db.CountCertificates("alice"); err != nil || n != 0 {
		t.Errorf("stored %d certificates (%v)", n, err)
	}
}
