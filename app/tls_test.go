package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/testdb"
	"certmaker/store"
)

// clock is a time the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time         { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration)    { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }
func (c *clock) set(t time.Time) *clock { c.now = t; return c }

// tlsApp is an application serving HTTPS on a real loopback listener.
type tlsApp struct {
	app      *app.App
	url      string
	plainURL string
	db       *store.DB
}

// startTLS builds an application with [server] tls = mode over the store
// at path, listening on ln, and serves it; set changes the config.
func startTLS(t *testing.T, path string, ln net.Listener, o app.Options, set func(*config.Config)) *tlsApp {
	t.Helper()
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Server.TLS = config.TLSSelf
	cfg.Server.PublicURL = "https://" + ln.Addr().String()
	cfg.Server.HTTPListen = plainLn.Addr().String()
	cfg.ACME.Enabled = false
	set(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := testdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, db, o)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.Start(ctx)
	srv := &http.Server{Handler: a.Public, TLSConfig: a.TLS}
	plain := &http.Server{Handler: a.Plain}
	go srv.ServeTLS(ln, "", "")
	go plain.Serve(plainLn)
	t.Cleanup(func() { cancel(); srv.Close(); plain.Close(); db.Close() })
	return &tlsApp{app: a, url: cfg.Server.PublicURL, plainURL: "http://" + plainLn.Addr().String(), db: db}
}

// served connects afresh, trusting only the root (at the time now), and
// returns the chain the server presented.
func (s *tlsApp) served(t *testing.T, now func() time.Time) []*x509.Certificate {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(s.app.Core.Authority().ActiveRoot().Cert)
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, Time: now},
		DisableKeepAlives: true,
	}, Timeout: 5 * time.Second}
	resp, err := c.Get(s.url + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with the root trusted: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz over HTTPS: %d", resp.StatusCode)
	}
	return resp.TLS.PeerCertificates
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestTLS_SelfRenews: with tls = "self" the CA serves HTTPS with a
// certificate of its own for the public host, with its intermediate; it
// renews it at two thirds of its life without a restart, and a restart
// serves the one it has rather than issuing another.
func TestTLS_SelfRenews(t *testing.T) {
	clk := (&clock{}).set(time.Now().Truncate(time.Second))
	path := filepath.Join(t.TempDir(), "ca.db")
	ln := listen(t)
	addr := ln.Addr().String()
	s := startTLS(t, path, ln, app.Options{Now: clk.Now, TLSRenewEvery: 10 * time.Millisecond}, func(c *config.Config) {
		c.Certificates = config.Certificates{DefaultDays: 3, MinDays: 1, MaxDays: 10}
	})
	chain := s.served(t, clk.Now)
	if len(chain) != 2 || !chain[1].Equal(s.app.Core.Authority().Active().Cert) {
		t.Fatalf("served %d certificates, want the leaf and the intermediate", len(chain))
	}
	first := chain[0]
	if len(first.IPAddresses) != 1 || first.IPAddresses[0].String() != "127.0.0.1" || first.NotAfter.Sub(first.NotBefore) != 3*24*time.Hour {
		t.Fatalf("server certificate for %v, valid %v; want 127.0.0.1 for three days", first.IPAddresses, first.NotAfter.Sub(first.NotBefore))
	}

	// Just before two thirds of its life: the same one.
	clk.Add(47 * time.Hour)
	time.Sleep(50 * time.Millisecond)
	if got := s.served(t, clk.Now)[0]; !got.Equal(first) {
		t.Fatal("renewed before two thirds of its life")
	}
	// Past: the background check swaps in a new one, no restart.
	clk.Add(2 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	var renewed *x509.Certificate
	for time.Now().Before(deadline) {
		if got := s.served(t, clk.Now)[0]; !got.Equal(first) {
			renewed = got
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if renewed == nil {
		t.Fatal("the certificate was not renewed past two thirds of its life")
	}
	if !renewed.NotBefore.Equal(clk.Now().UTC().Truncate(time.Second)) {
		t.Errorf("renewed certificate from %v, want now (%v)", renewed.NotBefore, clk.Now())
	}

	// The CA's own HTTPS key never leaves it: no user can take the name
	// that owns it, and not even an admin or the operator can export it.
	if _, err := s.app.Core.AddUser(t.Context(), core.Actor{Door: core.DoorAdmin, User: "uid 0"}, core.ServerOwner, true); err == nil {
		t.Error("a user could be named after the owner of the CA's own certificates")
	}
	for _, a := range []core.Actor{{Door: core.DoorAPI, User: core.ServerOwner}, {Door: core.DoorAdmin, User: "uid 0"}} {
		if _, err := s.app.Core.PrivateKeyPEM(t.Context(), a, renewed.SerialNumber); err == nil {
			t.Errorf("%s/%s exported the CA's own HTTPS key", a.Door, a.User)
		}
	}

	// A restart serves the current certificate, issues none.
	n, _ := s.db.CountCertificates(core.ServerOwner)
	s.db.Close()
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	s2 := startTLS(t, path, ln2, app.Options{Now: clk.Now}, func(c *config.Config) {
		c.Certificates = config.Certificates{DefaultDays: 3, MinDays: 1, MaxDays: 10}
	})
	if got := s2.served(t, clk.Now)[0]; !got.Equal(renewed) {
		t.Error("a restart serves another certificate than the one it had")
	}
	if m, _ := s2.db.CountCertificates(core.ServerOwner); m != n {
		t.Errorf("a restart issued %d server certificates", m-n)
	}
}

// TestTLS_PlainHTTP: with TLS on, the plain listener answers OCSP, CRLs,
// the CA certificates and the trust page without TLS and sends everything
// else to HTTPS, to the configured URL whatever Host the request names.
func TestTLS_PlainHTTP(t *testing.T) {
	s := startTLS(t, filepath.Join(t.TempDir(), "ca.db"), listen(t), app.Options{}, func(*config.Config) {})
	in := s.app.Core.Authority().Active()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/roots.pem", "/intermediate.pem", "/api/crl", "/api/crl/" + in.Anchor().Fingerprint, "/api/issuer/" + in.Fingerprint + ".crt", "/healthz", "/trust"} {
		resp, err := noRedirect.Get(s.plainURL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s over plain HTTP: %d, want 200", p, resp.StatusCode)
		}
	}
	// OCSP over plain HTTP (a POST, as openssl sends it) is answered.
	resp, err := noRedirect.Post(s.plainURL+"/api/ocsp", "application/ocsp-request", strings.NewReader("garbage"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ocsp-response" {
		t.Errorf("OCSP over plain HTTP: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/", "/certificates", "/api/certificate/request", "/api/root-certificate/obtain?x=1", "/acme/directory"} {
		req, _ := http.NewRequest("GET", s.plainURL+p, nil)
		req.Host = "evil.example"
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != s.url+p {
			t.Errorf("GET %s over plain HTTP: %d to %q, want 308 to %s", p, resp.StatusCode, resp.Header.Get("Location"), s.url+p)
		}
	}
	// The certificates name the plain listener in their URLs.
	c, err := s.app.Core.ServerCertificate(context.Background(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c.DER)
	if len(leaf.OCSPServer) != 1 || !strings.HasPrefix(leaf.OCSPServer[0], s.plainURL+"/") {
		t.Errorf("OCSP URL %v, want one on %s", leaf.OCSPServer, s.plainURL)
	}
}

// TestTLS_FilesReload: with tls = "files" the server serves the pair from
// the files and picks up new files without a restart, keeping the old
// pair while the new one does not load.
func TestTLS_FilesReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.db")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	// The pairs come from a CA of the same file, made first.
	db, err := testdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.ACME.Enabled = false
	svc, err := app.New(cfg, db, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	issue := func() (chain, key []byte, serial string) {
		req := &ca.Request{IPs: nil, DNSNames: []string{"localhost"}}
		if err := req.Normalize(); err != nil {
			t.Fatal(err)
		}
		c, err := svc.Core.Issue(context.Background(), core.Actor{Door: core.DoorServe, User: "ops"}, req, ca.DefaultKeyType)
		if err != nil {
			t.Fatal(err)
		}
		return svc.Core.ChainPEM(c), ca.KeyPEM(c.KeyPKCS8), c.Serial.String()
	}
	chain1, key1, serial1 := issue()
	chain2, key2, serial2 := issue()
	db.Close()
	os.WriteFile(certFile, chain1, 0o600)
	os.WriteFile(keyFile, key1, 0o600)

	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port
	s := startTLS(t, path, ln, app.Options{}, func(c *config.Config) {
		c.Server.TLS = config.TLSFiles
		c.Server.PublicURL = fmt.Sprintf("https://localhost:%d", port)
		c.Server.TLSCertFile, c.Server.TLSKeyFile = certFile, keyFile
	})
	s.url = fmt.Sprintf("https://localhost:%d", port)
	if got := s.served(t, time.Now)[0].SerialNumber.String(); got != serial1 {
		t.Fatalf("served %s, want the files' %s", got, serial1)
	}
	// Half written: a new certificate with the old key. Still the old pair.
	os.WriteFile(certFile, chain2, 0o600)
	time.Sleep(1100 * time.Millisecond)
	if got := s.served(t, time.Now)[0].SerialNumber.String(); got != serial1 {
		t.Fatalf("a mismatched pair replaced the served one: %s", got)
	}
	os.WriteFile(keyFile, key2, 0o600)
	time.Sleep(1100 * time.Millisecond)
	if got := s.served(t, time.Now)[0].SerialNumber.String(); got != serial2 {
		t.Errorf("after both files changed: served %s, want %s", got, serial2)
	}
}

// TestTLS_HSTS: every HTTPS answer tells browsers to use HTTPS only (a
// browser heeds it only from a connection whose certificate it trusts);
// the plain-HTTP listener's answers never carry it (RFC 6797 7.2).
func TestTLS_HSTS(t *testing.T) {
	s := startTLS(t, filepath.Join(t.TempDir(), "ca.db"), listen(t), app.Options{}, func(*config.Config) {})
	roots := x509.NewCertPool()
	roots.AddCert(s.app.Core.Authority().ActiveRoot().Cert)
	c := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(u string) *http.Response {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/healthz", "/signin", "/api/crl", "/acme/directory", "/no-such-page"} {
		resp := get(s.url + p)
		if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") || strings.HasPrefix(h, "max-age=0") {
			t.Errorf("HTTPS %s (%d): Strict-Transport-Security %q, want a max-age", p, resp.StatusCode, h)
		}
	}
	for _, p := range []string{"/healthz", "/api/crl", "/signin"} {
		resp := get(s.plainURL + p)
		if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
			t.Errorf("plain HTTP %s (%d) sent Strict-Transport-Security %q", p, resp.StatusCode, h)
		}
	}
}
