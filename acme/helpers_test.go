package acme_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/alpntest"
	"certmaker/internal/dnstest"
	"certmaker/internal/testdb"
	"certmaker/internal/testlog"
	"certmaker/store"
)

// env is a real certmaker: a bbolt file in a temp dir, an authority with
// a root made for the test, the API server with the ACME server mounted,
// on a real listener, and an http-01 responder on 127.0.0.2 and 127.0.0.3.
type env struct {
	t      testing.TB
	dbPath string
	db     *store.DB
	ca     *ca.Authority
	ops    *admin.Local
	app    *app.App
	srv    *httptest.Server
	url    string
	ln     net.Listener
	solver *solver
	opts   envOptions
}

type envOptions struct {
	noEAB       bool   // require_eab = false
	defaultUser string // for noEAB
	dir         string // where the database goes; "" is a temp dir
	log         *testlog.Buffer
	clock       *clock           // nil is the real time
	dns         *dnstest.Server  // the DNS server dns-01 asks; nil: none
	alpn        *alpntest.Server // where tls-alpn-01 connects; nil: port 443
	configure   func(*config.Config)
}

// clock is the server's time, which a test moves on.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Names the checker resolves through its Hosts map: the solver answers on
// 127.0.0.2 and 127.0.0.3; nothing listens on 127.0.0.9.
var hosts = map[string][]netip.Addr{
	"app.test":     {netip.MustParseAddr("127.0.0.2")},
	"www.app.test": {netip.MustParseAddr("127.0.0.2")},
	"other.test":   {netip.MustParseAddr("127.0.0.3")},
	"down.test":    {netip.MustParseAddr("127.0.0.9")},
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	e := &env{t: t, dbPath: filepath.Join(o.dir, "ca.db"), opts: o}
	e.solver = newSolver(t)
	e.open()
	for _, name := range []string{"alice", "bob"} {
		if _, err := e.ops.AddUser(context.Background(), name, false); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// open starts certmaker on e.dbPath, as a (re)start of serve would.
func (e *env) open() {
	t := e.t
	t.Helper()
	if e.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.ln, e.url = ln, "http://"+ln.Addr().String()
	} else {
		// Same address after a restart: accounts and orders keep their URLs.
		ln, err := net.Listen("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		e.ln = ln
	}
	db, err := testdb.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	opts := app.Options{NoDashboard: true}
	if e.opts.log != nil {
		opts.Logger = e.opts.log.Logger()
	}
	if e.opts.clock != nil {
		opts.Now = e.opts.clock.now
	}
	a, err := app.New(e.config(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.ca, e.app, e.ops = db, a.Core.Authority(), a, a.Operator
	e.srv = httptest.NewUnstartedServer(a)
	e.srv.Listener.Close()
	e.srv.Listener = e.ln
	e.srv.Start()
	t.Cleanup(e.close)
}

// config is the test CA's: an ECDSA P-256 root, ACME on with 30-day
// certificates and http-01 on the solver's port, names resolved by hosts.
func (e *env) config() config.Config {
	cfg := config.Default()
	cfg.Server.PublicURL = e.url
	cfg.Certificates = config.Certificates{DefaultDays: 7, MinDays: 1, MaxDays: 182}
	cfg.CA.KeyType, cfg.CA.Days, cfg.CA.CommonName, cfg.CA.Organization = "ecdsa-p256", 3650, "acme test root", "certmaker tests"
	cfg.Challenge.Timeout = config.Duration{Duration: 2 * time.Second}
	cfg.Challenge.AllowedPorts = []int{e.solver.port}
	cfg.Challenge.DefaultPort = e.solver.port
	cfg.Challenge.Hosts = map[string][]string{}
	for name, addrs := range hosts {
		for _, a := range addrs {
			cfg.Challenge.Hosts[name] = append(cfg.Challenge.Hosts[name], a.String())
		}
	}
	cfg.ACME = config.ACME{Enabled: true, RequireEAB: !e.opts.noEAB, DefaultUser: e.opts.defaultUser, HTTP01Port: e.solver.port, TLSALPN01Port: 443, Days: 30,
		MaxAccountIdentifiers: 300, MaxUnboundAccounts: 100, MaxUnboundCertificates: 10000}
	if e.opts.dns != nil {
		cfg.Challenge.DNSResolvers = []string{e.opts.dns.Addr.String()}
	}
	if e.opts.alpn != nil {
		cfg.ACME.TLSALPN01Port = e.opts.alpn.Port
		cfg.Challenge.AllowedPorts = append(cfg.Challenge.AllowedPorts, e.opts.alpn.Port)
	}
	if e.opts.configure != nil {
		e.opts.configure(&cfg)
	}
	return cfg
}

// rotateTo makes a new root with name constraints nc the active one.
func (e *env) rotateTo(nc ca.NameConstraints) {
	e.t.Helper()
	rootCfg, err := app.RootConfig(e.config())
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

func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

// eab makes an EAB key for a user, as `certmaker user acme-eab` does.
func (e *env) eab(user string) admin.EAB {
	e.t.Helper()
	k, err := e.ops.ACMEEAB(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func (e *env) root() *x509.Certificate {
	return e.ca.Active().Cert
}

// solver is an http-01 responder on 127.0.0.2 and 127.0.0.3 (same port),
// serving whatever key authorizations a test gives it.
type solver struct {
	port    int
	mu      sync.Mutex
	keys    map[string]string // token -> body
	fetches int               // answers served
}

func newSolver(t testing.TB) *solver {
	t.Helper()
	s := &solver{keys: map[string]string{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		s.mu.Lock()
		body, found := s.keys[token]
		if ok && found {
			s.fetches++
		}
		s.mu.Unlock()
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, body)
	})
	ln2, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	s.port = ln2.Addr().(*net.TCPAddr).Port
	ln3, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(s.port)))
	if err != nil {
		ln2.Close()
		t.Skipf("cannot listen on 127.0.0.3:%d: %v", s.port, err)
	}
	for _, ln := range []net.Listener{ln2, ln3} {
		srv := httptest.NewUnstartedServer(h)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
	}
	return s
}

func (s *solver) set(token, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[token] = body
}

// client is a tiny ACME client written for these tests with go-jose; it
// knows nothing of the server's code.
type client struct {
	t     testing.TB
	e     *env
	key   crypto.Signer
	alg   jose.SignatureAlgorithm
	kid   string
	nonce string
}

func (e *env) newClient(key crypto.Signer, alg jose.SignatureAlgorithm) *client {
	return &client{t: e.t, e: e, key: key, alg: alg}
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer is not JSON (%d): %q", r.status, r.body)
	}
}

// want fails unless the status matches, showing the body.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

type problemDoc struct {
	Type   string `json:"type"`
	Detail string `json:"detail"`
	Status int    `json:"status"`
}

// wantProblem fails unless the answer is a problem document of the short
// type (such as "badNonce") with the status.
func (r response) wantProblem(t testing.TB, status int, typ string) problemDoc {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; status %d body %s", ct, r.status, r.body)
	}
	var p problemDoc
	r.json(t, &p)
	if r.status != status || p.Type != "urn:ietf:params:acme:error:"+typ || p.Status != status {
		t.Fatalf("got %d %s (status %d) %q, want %d %s", r.status, p.Type, p.Status, p.Detail, status, typ)
	}
	if r.header.Get("Replay-Nonce") == "" {
		t.Error("problem without a Replay-Nonce")
	}
	return p
}

// do sends a raw request to a path or absolute URL.
func (e *env) do(method, url, contentType string, body []byte) response {
	e.t.Helper()
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return e.doHeader(method, url, h, body)
}

// doHeader sends a raw request with headers.
func (e *env) doHeader(method, url string, h http.Header, body []byte) response {
	e.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = e.url + url
	}
	req, err := http.NewRequest(method, url, strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// freshNonce asks newNonce for one.
func (e *env) freshNonce() string {
	e.t.Helper()
	r := e.do(http.MethodHead, "/acme/new-nonce", "", nil).want(e.t, http.StatusOK)
	n := r.header.Get("Replay-Nonce")
	if n == "" {
		e.t.Fatal("newNonce gave no nonce")
	}
	return n
}

// jwsOptions shape one signed request; the zero value is a normal one.
type jwsOptions struct {
	embedJWK bool   // sign with jwk instead of kid
	kid      string // override the client's kid
	url      string // override the url header
	nonce    string // override the nonce ("-" for none)
	key      crypto.Signer
	alg      jose.SignatureAlgorithm
	accept   string // an Accept header for the request
}

// sign makes a flattened JWS of payload (nil is POST-as-GET).
func (c *client) sign(url string, payload []byte, o jwsOptions) []byte {
	c.t.Helper()
	key, alg := c.key, c.alg
	if o.key != nil {
		key, alg = o.key, o.alg
	}
	if o.url == "" {
		o.url = url
	}
	headers := map[jose.HeaderKey]any{"url": o.url}
	switch {
	case o.nonce == "-":
	case o.nonce != "":
		headers["nonce"] = o.nonce
	default:
		if c.nonce == "" {
			c.nonce = c.e.freshNonce()
		}
		headers["nonce"] = c.nonce
	}
	var sk jose.SigningKey
	if o.embedJWK {
		sk = jose.SigningKey{Algorithm: alg, Key: key}
	} else {
		kid := c.kid
		if o.kid != "" {
			kid = o.kid
		}
		sk = jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}
	}
	signer, err := jose.NewSigner(sk, &jose.SignerOptions{EmbedJWK: o.embedJWK, ExtraHeaders: headers})
	if err != nil {
		c.t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	return flatten(c.t, jws.FullSerialize())
}

// flatten re-serializes a JWS with "payload" always present: go-jose
// leaves an empty one out, and POST-as-GET needs "payload": "".
func flatten(t testing.TB, full string) []byte {
	t.Helper()
	var f struct {
		Protected string `json:"protected"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal([]byte(full), &f); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post signs payload (a value to marshal, or nil for POST-as-GET) for url
// and sends it, keeping the answer's nonce for the next request.
func (c *client) post(url string, payload any, o jwsOptions) response {
	c.t.Helper()
	var body []byte
	switch p := payload.(type) {
	case nil:
	case []byte:
		body = p
	default:
		var err error
		if body, err = json.Marshal(p); err != nil {
			c.t.Fatal(err)
		}
	}
	h := http.Header{"Content-Type": {"application/jose+json"}}
	if o.accept != "" {
		h.Set("Accept", o.accept)
	}
	r := c.e.doHeader(http.MethodPost, url, h, c.sign(absolute(c.e, url), body, o))
	if n := r.header.Get("Replay-Nonce"); n != "" {
		c.nonce = n
	}
	return r
}

func absolute(e *env, url string) string {
	if strings.HasPrefix(url, "/") {
		return e.url + url
	}
	return url
}

// eabJWS binds the client's key to an EAB key, as RFC 8555 7.3.4 says.
func (c *client) eabJWS(k admin.EAB, url string, bound crypto.PublicKey) json.RawMessage {
	c.t.Helper()
	mac, err := base64.RawURLEncoding.DecodeString(k.HMACKey)
	if err != nil {
		c.t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: mac},
		&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"kid": k.KeyID, "url": url}})
	if err != nil {
		c.t.Fatal(err)
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: bound})
	if err != nil {
		c.t.Fatal(err)
	}
	jws, err := signer.Sign(jwk)
	if err != nil {
		c.t.Fatal(err)
	}
	return json.RawMessage(jws.FullSerialize())
}

// register makes an account with an EAB key of user and remembers its URL.
func (c *client) register(user string) response {
	c.t.Helper()
	url := c.e.url + "/acme/new-account"
	r := c.post(url, map[string]any{
		"termsOfServiceAgreed":   true,
		"contact":                []string{"mailto:" + user + "@example.com"},
		"externalAccountBinding": c.eabJWS(c.e.eab(user), url, c.key.Public()),
	}, jwsOptions{embedJWK: true})
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		c.t.Fatalf("newAccount: %d %s", r.status, r.body)
	}
	c.kid = r.header.Get("Location")
	return r
}

// Order and friends as a client reads them.
type orderDoc struct {
	Status         string       `json:"status"`
	Identifiers    []identifier `json:"identifiers"`
	Authorizations []string     `json:"authorizations"`
	Finalize       string       `json:"finalize"`
	Certificate    string       `json:"certificate"`
	Error          *problemDoc  `json:"error"`
	Expires        string       `json:"expires"`
	url            string       // from Location
}

type identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type authzDoc struct {
	Status     string         `json:"status"`
	Identifier identifier     `json:"identifier"`
	Challenges []challengeDoc `json:"challenges"`
	Wildcard   bool           `json:"wildcard"`
}

type challengeDoc struct {
	Type      string      `json:"type"`
	URL       string      `json:"url"`
	Status    string      `json:"status"`
	Token     string      `json:"token"`
	Validated string      `json:"validated"`
	Error     *problemDoc `json:"error"`
}

func dns(names ...string) []identifier {
	out := make([]identifier, len(names))
	for i, n := range names {
		out[i] = identifier{"dns", n}
	}
	return out
}

// newOrder orders ids and returns the order with its URL.
func (c *client) newOrder(ids []identifier) orderDoc {
	c.t.Helper()
	r := c.post("/acme/new-order", map[string]any{"identifiers": ids}, jwsOptions{}).want(c.t, http.StatusCreated)
	var o orderDoc
	r.json(c.t, &o)
	o.url = r.header.Get("Location")
	return o
}

func (c *client) order(url string) orderDoc {
	c.t.Helper()
	var o orderDoc
	c.post(url, nil, jwsOptions{}).want(c.t, http.StatusOK).json(c.t, &o)
	o.url = url
	return o
}

func (c *client) authz(url string) authzDoc {
	c.t.Helper()
	var az authzDoc
	c.post(url, nil, jwsOptions{}).want(c.t, http.StatusOK).json(c.t, &az)
	return az
}

// keyAuthorization is the http-01 answer for a token and the client's key.
func (c *client) keyAuthorization(token string) string {
	c.t.Helper()
	tp, err := (&jose.JSONWebKey{Key: c.key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		c.t.Fatal(err)
	}
	return token + "." + base64.RawURLEncoding.EncodeToString(tp)
}

// answer puts the key authorization of every authorization's http-01
// challenge on the solver and posts each challenge; it returns the
// challenges as answered.
func (c *client) answer(o orderDoc) []challengeDoc {
	c.t.Helper()
	var out []challengeDoc
	for _, u := range o.Authorizations {
		az := c.authz(u)
		ch := http01(c.t, az)
		c.e.solver.set(ch.Token, c.keyAuthorization(ch.Token))
		var got challengeDoc
		c.post(ch.URL, struct{}{}, jwsOptions{}).want(c.t, http.StatusOK).json(c.t, &got)
		out = append(out, got)
	}
	return out
}

func http01(t testing.TB, az authzDoc) challengeDoc {
	t.Helper()
	return challengeOf(t, az, "http-01")
}

// challengeOf is the authorization's challenge of type typ.
func challengeOf(t testing.TB, az authzDoc, typ string) challengeDoc {
	t.Helper()
	for _, ch := range az.Challenges {
		if ch.Type == typ {
			return ch
		}
	}
	t.Fatalf("no %s challenge in %+v", typ, az)
	return challengeDoc{}
}

// csr makes a CSR for names (and CN) with a new P-256 key.
func csr(t testing.TB, cn string, dnsNames []string, ips []string) ([]byte, crypto.Signer) {
	t.Helper()
	key := newECKey(t)
	return csrWithKey(t, key, cn, dnsNames, ips), key
}

func csrWithKey(t testing.TB, key crypto.Signer, cn string, dnsNames []string, ips []string) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames}
	for _, s := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(s))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (c *client) finalize(o orderDoc, der []byte) response {
	c.t.Helper()
	return c.post(o.Finalize, map[string]string{"csr": base64.RawURLEncoding.EncodeToString(der)}, jwsOptions{})
}

// obtain runs a whole order for ids and returns the chain it downloads.
func (c *client) obtain(ids []identifier) (orderDoc, []*x509.Certificate, crypto.Signer) {
	c.t.Helper()
	o := c.newOrder(ids)
	for _, ch := range c.answer(o) {
		if ch.Status != "valid" {
			c.t.Fatalf("challenge %s: %+v", ch.Status, ch.Error)
		}
	}
	var names, ips []string
	for _, id := range ids {
		if id.Type == "ip" {
			ips = append(ips, id.Value)
		} else {
			names = append(names, id.Value)
		}
	}
	der, key := csr(c.t, "", names, ips)
	var fin orderDoc
	c.finalize(o, der).want(c.t, http.StatusOK).json(c.t, &fin)
	if fin.Status != "valid" || fin.Certificate == "" {
		c.t.Fatalf("finalized order: %+v", fin)
	}
	fin.url = o.url
	return fin, c.download(fin.Certificate), key
}

// download fetches a certificate chain with POST-as-GET.
func (c *client) download(url string) []*x509.Certificate {
	c.t.Helper()
	r := c.post(url, nil, jwsOptions{}).want(c.t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/pem-certificate-chain" {
		c.t.Fatalf("certificate content type %q", ct)
	}
	var chain []*x509.Certificate
	rest := r.body
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			c.t.Fatal(err)
		}
		chain = append(chain, cert)
	}
	return chain
}
