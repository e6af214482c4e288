package challenge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"certmaker/challenge"
)

// requester is who asks for the checks, unless a test says otherwise.
const requester = "alice"

// tok is the token the test servers answer with unless a case says otherwise.
const tok = "dGVzdC10b2tlbi10aGF0LWlzLW5vdC1yYW5kb20"

var (
	ip2 = netip.MustParseAddr("127.0.0.2")
	ip3 = netip.MustParseAddr("127.0.0.3")
)

// listen binds addr, or skips the test when the OS cannot bind it.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	return ln
}

// serve runs h on a real listener at addr (such as "127.0.0.2:0") until the
// test ends, and returns its port.
func serve(t *testing.T, addr string, h http.Handler) int {
	t.Helper()
	ln := listen(t, addr)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a port on ip on which nothing listens any more.
func closedPort(t *testing.T, ip string) int {
	t.Helper()
	ln := listen(t, net.JoinHostPort(ip, "0"))
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// site wraps a handler and records what reached it.
type site struct {
	h     http.Handler
	mu    sync.Mutex
	hosts []string
	paths []string
}

func newSite(h http.Handler) *site { return &site{h: h} }

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hosts = append(s.hosts, r.Host)
	s.paths = append(s.paths, r.URL.Path)
	s.mu.Unlock()
	s.h.ServeHTTP(w, r)
}

func (s *site) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hosts)
}

func (s *site) LastHost() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.hosts) == 0 {
		return ""
	}
	return s.hosts[len(s.hosts)-1]
}

// serveFile answers GET path with body, and 404 elsewhere.
func serveFile(path, body string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	})
	return mux
}

func newChecker(t *testing.T, cfg challenge.Config) *challenge.Checker {
	t.Helper()
	c, err := challenge.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// target is the usual certmaker challenge for id on port.
func target(id string, port int) challenge.Target {
	return challenge.Target{Identifier: id, Port: port, Path: challenge.WellKnownPath, Want: tok}
}

// reasonOf returns the Reason of err, which must be a *challenge.Error.
func reasonOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("got nil, want a *challenge.Error")
	}
	var ce *challenge.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is a %T, want a *challenge.Error", err, err)
	}
	if want, ok := wantCode(ce.Reason); ok && ce.Code != want {
		t.Errorf("reason %q has code %d, want %d", ce.Reason, ce.Code, want)
	}
	return ce.Reason
}

// wantCode is the code each reason the tests meet must come with: doors
// act on the code, never on the sentence.
func wantCode(reason string) (challenge.Code, bool) {
	exact := map[string]challenge.Code{
		"wrong token":         challenge.CodeWrongToken,
		"HTTP 404":            challenge.CodeNotFound,
		"connection refused":  challenge.CodeRefused,
		"no such host":        challenge.CodeLookup,
		"no address for name": challenge.CodeLookup,
		"not an HTTP answer":  challenge.CodeNotHTTP,
		"canceled":            challenge.CodeCanceled,
		"empty identifier":    challenge.CodeTarget,
		"no expected token":   challenge.CodeTarget,
		"connection closed before a complete answer": challenge.CodeConnection,
	}
	if c, ok := exact[reason]; ok {
		return c, true
	}
	for prefix, c := range map[string]challenge.Code{
		"timed out":                  challenge.CodeTimeout,
		"redirects are not followed": challenge.CodeRedirect,
		"HTTP ":                      challenge.CodeStatus,
		"body larger than":           challenge.CodeTooLarge,
		"address ":                   challenge.CodeAddress,
		"invalid port":               challenge.CodeTarget,
		"path ":                      challenge.CodeTarget,
	} {
		if strings.HasPrefix(reason, prefix) {
			return c, true
		}
	}
	return 0, false
}

// mapResolver is a real implementation of challenge.Resolver (the
// interface *net.Resolver satisfies) that answers from a map.
type mapResolver struct {
	addrs map[string][]netip.Addr
	mu    sync.Mutex
	asked []string
}

func (r *mapResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.asked = append(r.asked, host)
	r.mu.Unlock()
	if network != "ip" {
		return nil, fmt.Errorf("unexpected network %q", network)
	}
	addrs, ok := r.addrs[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

func (r *mapResolver) Asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.asked...)
}
