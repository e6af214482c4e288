package api_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/testdb"
	"certmaker/store"
)

// env is a real server: a bbolt file in a temp dir, an authority with a
// root made for the test, users, and an httptest server in front.
type env struct {
	t      *testing.T
	db     *store.DB
	dbPath string
	ca     *ca.Authority
	app    *app.App
	ops    *admin.Local
	srv    *httptest.Server
	now    time.Time
	tokens map[string]string
}

type envOptions struct {
	challenge bool
	hosts     map[string][]netip.Addr
	dns       netip.AddrPort // the DNS server DNS proofs ask; zero: the system's
	clock     func() time.Time
	// seed writes into the store before the application opens it: a
	// database as an older certmaker left it.
	seed func(*store.DB)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "ca.db"), tokens: map[string]string{}}
	e.open(o)
	ctx := context.Background()
	for _, u := range []struct {
		name  string
		admin bool
	}{{"alice", false}, {"bob", false}, {"root", true}} {
		tok, err := e.ops.AddUser(ctx, u.name, u.admin)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.name] = tok
	}
	return e
}

// open (re)starts the server on e.dbPath, as a restart of certmaker would.
func (e *env) open(o envOptions) {
	t := e.t
	t.Helper()
	db, err := testdb.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if o.seed != nil {
		o.seed(db)
	}
	cfg := testConfig("http://ca.test:8880", "test root")
	cfg.Challenge.Required = o.challenge
	cfg.Challenge.Timeout = config.Duration{Duration: 500 * time.Millisecond}
	cfg.Challenge.AllowedPorts = everyPort()
	cfg.Challenge.Expiry = config.Duration{Duration: time.Hour}
	cfg.Challenge.DeniedNetworks = nil
	cfg.Challenge.Hosts = hostsConfig(o.hosts)
	if o.dns.IsValid() {
		cfg.Challenge.DNSResolvers = []string{o.dns.String()}
	}
	// The API alone, as these tests have always seen it: every path is
	// the API's (a served certmaker hands other paths to the dashboard).
	a, err := app.New(cfg, db, app.Options{Now: o.clock, NoDashboard: true})
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.ca, e.app, e.ops = db, a.Core.Authority(), a, a.Operator
	e.srv = httptest.NewServer(a)
	t.Cleanup(e.close)
}

// testConfig is the configuration of the tests' CAs: validity 1 to 182
// days (7 by default), an ECDSA P-256 root named cn.
func testConfig(publicURL, cn string) config.Config {
	cfg := config.Default()
	cfg.Server.PublicURL = publicURL
	cfg.Certificates = config.Certificates{DefaultDays: 7, MinDays: 1, MaxDays: 182}
	cfg.CA.KeyType, cfg.CA.Days, cfg.CA.CommonName, cfg.CA.Organization = "ecdsa-p256", 3650, cn, "certmaker tests"
	cfg.ACME.Enabled = false
	return cfg
}

// hostsConfig is a hosts map as challenge.hosts spells it.
func hostsConfig(hosts map[string][]netip.Addr) map[string][]string {
	out := make(map[string][]string, len(hosts))
	for name, addrs := range hosts {
		for _, a := range addrs {
			out[name] = append(out[name], a.String())
		}
	}
	return out
}

// rotateTo makes a new root with name constraints nc the active one.
func (e *env) rotateTo(nc ca.NameConstraints) {
	e.t.Helper()
	rootCfg, err := app.RootConfig(testConfig("http://ca.test:8880", "test root"))
	if err != nil {
		e.t.Fatal(err)
	}
	rootCfg.Constraints = nc
	if _, err := e.app.Core.NewRoot(e.t.Context(), core.Operator("test"), rootCfg); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) close() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	if err := e.db.Check(); err != nil {
		e.t.Errorf("database check: %v", err)
	}
	e.db.Close()
	e.srv = nil
}

func (e *env) restart(o envOptions) {
	e.t.Helper()
	e.close()
	e.open(o)
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request as user (no token header when user is "").
func (e *env) do(method, path, user, body string, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		tok, ok := e.tokens[user]
		if !ok {
			tok = user // a literal token
		}
		req.Header.Set("X-Auth-Token", tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// want fails unless the status matches, showing the body.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %q", r.status, status, r.body)
	}
	return r
}

// path turns a location header into a path on the test server.
func (e *env) path(loc string) string {
	e.t.Helper()
	const public = "http://ca.test:8880"
	if !strings.HasPrefix(loc, public) {
		e.t.Fatalf("location %q does not start with the public URL", loc)
	}
	return strings.TrimPrefix(loc, public)
}

// issue requests a certificate and returns its certificate and key paths.
func (e *env) issue(user, body string) (certPath, keyPath string) {
	e.t.Helper()
	r := e.do("POST", "/api/certificate/request", user, body).want(e.t, 200)
	return e.path(r.header.Get("X-Certificate-Location")), e.path(r.header.Get("X-Privatekey-Location"))
}

func (e *env) cert(user, path string) *x509.Certificate {
	e.t.Helper()
	r := e.do("GET", path, user, "").want(e.t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/x-pem-file" {
		e.t.Fatalf("content type %q", ct)
	}
	return parseCertPEM(e.t, r.body)
}

func parseCertPEM(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseKeyPEM(t *testing.T, s string) crypto.Signer {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("not a PKCS#8 PEM key: %q", s)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// verify checks the leaf for a name as a TLS client would: through its
// issuer (an intermediate, sent along by a server) to the issuer's root,
// the only certificate trusted.
func verify(t *testing.T, leaf *x509.Certificate, iss *ca.Issuer, name string) {
	t.Helper()
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(iss.Anchor().Cert)
	if !iss.IsRoot() {
		inter.AddCert(iss.Cert)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name}); err != nil {
		t.Fatalf("leaf does not verify for %q: %v", name, err)
	}
}

// everyPort allows the high ports the OS hands the tests' token servers;
// the challenge package tests the privileged-ports default.
func everyPort() []int {
	ports := make([]int, 65535)
	for i := range ports {
		ports[i] = i + 1
	}
	return ports
}
