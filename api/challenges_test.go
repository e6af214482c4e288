package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/ca"
	"certmaker/challenge"
)

// tokenSite serves challenge tokens on 127.0.0.2 and 127.0.0.3 at one port,
// as two hosts of a homelab would.
type tokenSite struct {
	port   int
	mu     sync.Mutex
	tokens map[string]string // host IP -> token served; missing means 404
}

func (s *tokenSite) serve(ip, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[ip] = token
}

func newTokenSite(t *testing.T) *tokenSite {
	t.Helper()
	site := &tokenSite{tokens: map[string]string{}}
	handler := func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			site.mu.Lock()
			tok, ok := site.tokens[ip]
			site.mu.Unlock()
			if !ok || r.URL.Path != challenge.WellKnownPath {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintln(w, tok) // a trailing newline, as `echo` writes
		})
	}
	for attempt := 0; attempt < 20; attempt++ {
		l2, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("cannot bind 127.0.0.2: %v", err)
		}
		port := l2.Addr().(*net.TCPAddr).Port
		l3, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(port)))
		if err != nil {
			l2.Close()
			continue
		}
		for ip, l := range map[string]net.Listener{"127.0.0.2": l2, "127.0.0.3": l3} {
			s := httptest.NewUnstartedServer(handler(ip))
			s.Listener.Close()
			s.Listener = l
			s.Start()
			t.Cleanup(s.Close)
		}
		site.port = port
		return site
	}
	t.Skip("no port free on both 127.0.0.2 and 127.0.0.3")
	return nil
}

var testHosts = map[string][]netip.Addr{
	"a.test": {netip.MustParseAddr("127.0.0.2")},
	"b.test": {netip.MustParseAddr("127.0.0.3")},
}

type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func TestChallenge(t *testing.T) {
	site := newTokenSite(t)
	clk := &clock{}
	clk.now.Store(time.Now().UnixNano())
	opts := envOptions{challenge: true, hosts: testHosts, clock: clk.Now}
	e := newEnv(t, opts)
	port := strconv.Itoa(site.port)

	request := func(t *testing.T, body string) (token, solvePath string) {
		t.Helper()
		r := e.do("POST", "/api/certificate/request", "alice", body).want(t, 202)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("content type %q", ct)
		}
		if r.header.Get("X-Certificate-Location") != "" {
			t.Error("a challenged request must not hand out a certificate yet")
		}
		return r.body, e.path(r.header.Get("X-Challenge-Location"))
	}

	t.Run("FullFlow", func(t *testing.T) {
		token, solve := request(t, `{"domains":["a.test","b.test","localhost"],"ips":["127.0.0.2","::1"]}`)
		if !strings.HasSuffix(solve, "/solve") || !strings.HasPrefix(solve, "/api/challenge/") {
			t.Fatalf("challenge location %q", solve)
		}
		// Nothing served yet: 417 naming the identifier.
		r := e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 417)
		if !strings.Contains(r.body, ".test") && !strings.Contains(r.body, "127.0.0.2") {
			t.Errorf("417 message %q names no identifier", r.body)
		}
		site.serve("127.0.0.2", token)
		r = e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 417)
		if !strings.Contains(r.body, "b.test") || !strings.Contains(r.body, "404") {
			t.Errorf("417 message %q should name b.test and HTTP 404", r.body)
		}
		site.serve("127.0.0.3", "wrong-token")
		r = e.do("POST", solve, "alice", "", "X-Challenge-Port", port).want(t, 417)
		if !strings.Contains(r.body, "b.test") || !strings.Contains(r.body, "token") {
			t.Errorf("417 message %q should name b.test and the wrong token", r.body)
		}
		site.serve("127.0.0.3", token)
		r = e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 200)
		leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
		verify(t, leaf, e.ca.Active(), "b.test")
		e.do("GET", e.path(r.header.Get("X-Privatekey-Location")), "alice", "").want(t, 200)

		// Solving again: same answer, no second certificate.
		again := e.do("POST", solve, "alice", "", "X-Challenge-Port", port).want(t, 200)
		if again.header.Get("X-Certificate-Location") != r.header.Get("X-Certificate-Location") {
			t.Error("second solve answered a different certificate")
		}
		if n, _ := e.db.CountCertificates("alice"); n != 1 {
			t.Errorf("%d certificates stored, want 1", n)
		}
		// Someone else's challenge does not exist for them.
		e.do("GET", solve, "bob", "", "X-Challenge-Port", port).want(t, 404)
	})
	t.Run("ExemptOnly", func(t *testing.T) {
		// localhost, 127.0.0.1 and ::1 are never fetched: no server needed.
		_, solve := request(t, `{"domains":["localhost"],"ips":["127.0.0.1","::1"]}`)
		e.do("GET", solve, "alice", "", "X-Challenge-Port", "1").want(t, 200)
	})
	t.Run("Port", func(t *testing.T) {
		_, solve := request(t, `{"domains":["localhost"]}`)
		for _, p := range []string{"abc", "0", "65536", "-1", "80x"} {
			e.do("GET", solve, "alice", "", "X-Challenge-Port", p).want(t, 400)
		}
		// Missing header: the default port 80, where nothing listens on 127.0.0.2.
		_, solve = request(t, `{"ips":["127.0.0.2"]}`)
		e.do("GET", solve, "alice", "").want(t, 417)
	})
	t.Run("Emails", func(t *testing.T) {
		// An email address is granted only with its domain proven in the
		// same challenge; a request with nothing to prove is refused.
		for _, body := range []string{
			`{"email_addresses":["ceo@bank.example"]}`,
			`{"domains":["a.test"],"email_addresses":["ceo@bank.example"]}`,
			`{"ips":["127.0.0.2"],"email_addresses":["ops@a.test"]}`,
			// A parent of a proven name is not proven by it.
			`{"domains":["app.home.lan"],"email_addresses":["x@home.lan"]}`,
			// localhost is never fetched, so nothing proves its addresses.
			`{"domains":["localhost"],"email_addresses":["root@localhost"]}`,
			`{"domains":["localhost","a.test"],"email_addresses":["root@LOCALHOST"]}`,
		} {
			r := e.do("POST", "/api/certificate/request", "alice", body).want(t, 400)
			if !strings.Contains(r.body, "email address") {
				t.Errorf("%s: message %q does not explain the email rule", body, r.body)
			}
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			EmailAddresses: []string{"ceo@bank.example"},
		}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		e.do("POST", "/api/certificate/request-with-csr", "alice", csr).want(t, 400)

		// With its domain among the names, the domain is fetched first.
		token, solve := request(t, `{"domains":["a.test"],"email_addresses":["ops@A.test"]}`)
		site.serve("127.0.0.2", "not-the-token")
		e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 417)
		site.serve("127.0.0.2", token)
		r := e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 200)
		leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
		if len(leaf.EmailAddresses) != 1 || leaf.EmailAddresses[0] != "ops@a.test" {
			t.Errorf("emails %v", leaf.EmailAddresses)
		}
	})
	t.Run("Wildcard", func(t *testing.T) {
		r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["*.a.test"]}`).want(t, 400)
		if !strings.Contains(r.body, "wildcard") {
			t.Errorf("message %q", r.body)
		}
	})
	t.Run("WildcardCSR", func(t *testing.T) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		r := e.do("POST", "/api/certificate/request-with-csr", "alice", csrPEM(t, key, "", "*.a.test")).want(t, 400)
		if !strings.Contains(r.body, "wildcard") {
			t.Errorf("message %q", r.body)
		}
	})
	t.Run("V1Location", func(t *testing.T) {
		r := e.do("POST", "/api/v1/certificate/request", "alice", `{"domains":["localhost"]}`).want(t, 202)
		if loc := r.header.Get("X-Challenge-Location"); !strings.HasPrefix(loc, "http://ca.test:8880/api/v1/challenge/") {
			t.Errorf("challenge location %q does not use the /api/v1 prefix", loc)
		}
	})
	t.Run("ConcurrentSolves", func(t *testing.T) {
		token, solve := request(t, `{"domains":["a.test"]}`)
		site.serve("127.0.0.2", token)
		before, _ := e.db.CountCertificates("alice")
		const n = 6
		locs := make(chan string, n)
		for range n {
			go func() {
				req, _ := http.NewRequest("POST", e.srv.URL+solve, nil)
				req.Header.Set("X-Auth-Token", e.tokens["alice"])
				req.Header.Set("X-Challenge-Port", port)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					locs <- fmt.Sprintf("error %v", err)
					return
				}
				resp.Body.Close()
				locs <- resp.Header.Get("X-Certificate-Location")
			}()
		}
		first := <-locs
		for range n - 1 {
			if got := <-locs; got != first {
				t.Errorf("concurrent solves answered %q and %q", first, got)
			}
		}
		if after, _ := e.db.CountCertificates("alice"); after != before+1 {
			t.Errorf("%d certificates stored by %d concurrent solves, want 1", after-before, n)
		}
	})
	t.Run("UnknownChallenge", func(t *testing.T) {
		e.do("GET", "/api/challenge/0123456789abcdef/solve", "alice", "").want(t, 404)
	})
	t.Run("Expiry", func(t *testing.T) {
		token, solve := request(t, `{"domains":["a.test"]}`)
		site.serve("127.0.0.2", token)
		solvedToken, solved := request(t, `{"domains":["a.test"],"days":2}`)
		site.serve("127.0.0.2", solvedToken)
		first := e.do("GET", solved, "alice", "", "X-Challenge-Port", port).want(t, 200)
		site.serve("127.0.0.2", token)
		clk.Advance(time.Hour + time.Second)
		e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 410)
		// A solved challenge keeps its answer after it expires.
		again := e.do("GET", solved, "alice", "", "X-Challenge-Port", port).want(t, 200)
		if again.header.Get("X-Certificate-Location") != first.header.Get("X-Certificate-Location") {
			t.Error("a solved challenge answered differently after expiry")
		}
	})
	t.Run("CSR", func(t *testing.T) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		r := e.do("POST", "/api/certificate/request-with-csr?days=3", "alice", csrPEM(t, key, "", "a.test")).want(t, 202)
		site.serve("127.0.0.2", r.body)
		s := e.do("GET", e.path(r.header.Get("X-Challenge-Location")), "alice", "", "X-Challenge-Port", port).want(t, 200)
		if s.header.Get("X-Privatekey-Location") != "" {
			t.Error("CSR solve offered a private key")
		}
		leaf := e.cert("alice", e.path(s.header.Get("X-Certificate-Location")))
		if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
			t.Error("certificate not for the CSR key")
		}
		if leaf.NotAfter.Sub(leaf.NotBefore) != 3*24*time.Hour {
			t.Errorf("validity %v, want 3 days", leaf.NotAfter.Sub(leaf.NotBefore))
		}
	})
	t.Run("RestartBetweenRequestAndSolve", func(t *testing.T) {
		token, solve := request(t, `{"domains":["a.test"],"key_type":"ed25519"}`)
		e.restart(opts)
		site.serve("127.0.0.2", token)
		r := e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 200)
		e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
	})
}

func TestNameConstraints(t *testing.T) {
	e := newEnv(t, envOptions{challenge: true, hosts: testHosts})
	e.rotateTo(ca.NameConstraints{
		PermittedDNSDomains: []string{"home.lan", "test"},
		PermittedIPRanges:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	root := e.cert("alice", "/api/root-certificate/obtain")
	if !root.PermittedDNSDomainsCritical || len(root.PermittedDNSDomains) != 2 {
		t.Fatalf("served root lacks the constraints: %v", root.PermittedDNSDomains)
	}
	// Refused when asked, not after the challenge.
	r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["www.bank.example"]}`).want(t, 400)
	if !strings.Contains(r.body, "www.bank.example") || !strings.Contains(r.body, "permitted") {
		t.Errorf("message %q", r.body)
	}
	e.do("POST", "/api/certificate/request", "alice", `{"ips":["10.1.2.3"]}`).want(t, 400)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.do("POST", "/api/certificate/request-with-csr", "alice", csrPEM(t, key, "", "evil.example")).want(t, 400)
	e.do("POST", "/api/certificate/request", "alice", `{"domains":["nas.home.lan"]}`).want(t, 202)
}
