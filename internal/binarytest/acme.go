package binarytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// Solver answers challenges on a loopback address other than 127.0.0.1
// (127.0.0.2), with what the test puts in: http-01's key authorizations,
// or any path's body (certmaker's own challenge file).
type Solver struct {
	IP   string
	Port int
	mu   sync.Mutex
	keys map[string]string // path -> body
}

// NewSolver listens on 127.0.0.2 until t ends.
func NewSolver(t testing.TB) *Solver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("the challenge responder: %v", err)
	}
	s := &Solver{IP: "127.0.0.2", Port: ln.Addr().(*net.TCPAddr).Port, keys: map[string]string{}}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *Solver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, ok := s.keys[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	io.WriteString(w, body)
}

// Put serves body at path.
func (s *Solver) Put(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[path] = body
}

// PutHTTP01 serves an http-01 key authorization for token.
func (s *Solver) PutHTTP01(token, keyAuth string) {
	s.Put("/.well-known/acme-challenge/"+token, keyAuth)
}

// ReadyOrder orders name and proves it with http-01 through s: the order
// comes back ready.
func ReadyOrder(ctx context.Context, cl *acme.Client, s *Solver, name string) (*acme.Order, error) {
	o, err := cl.AuthorizeOrder(ctx, acme.DomainIDs(name))
	if err != nil {
		return nil, err
	}
	for _, u := range o.AuthzURLs {
		z, err := cl.GetAuthorization(ctx, u)
		if err != nil {
			return nil, err
		}
		if z.Status == acme.StatusValid {
			continue
		}
		var chal *acme.Challenge
		for _, c := range z.Challenges {
			if c.Type == "http-01" {
				chal = c
			}
		}
		if chal == nil {
			return nil, fmt.Errorf("authorization %s offers no http-01 challenge", u)
		}
		keyAuth, err := cl.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return nil, err
		}
		s.PutHTTP01(chal.Token, keyAuth)
		if _, err := cl.Accept(ctx, chal); err != nil {
			return nil, err
		}
		if _, err := cl.WaitAuthorization(ctx, z.URI); err != nil {
			return nil, err
		}
	}
	return cl.WaitOrder(ctx, o.URI)
}

// Finalize sends a CSR for name with a new P-256 key and returns the
// certificate's chain (DER, the leaf first) and its URL.
func Finalize(ctx context.Context, cl *acme.Client, o *acme.Order, name string) ([][]byte, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return nil, "", err
	}
	return cl.CreateOrderCert(ctx, o.FinalizeURL, csr, false)
}

// HostsTOML is [challenge.hosts] with every name at s's address, after
// the [acme] and [challenge] keys that let certmaker fetch from s's port.
func (s *Solver) HostsTOML(names []string, challengeKeys string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[acme]\nhttp01_port = %d\n\n[challenge]\nallowed_ports = [80, %d]\n%s\n\n[challenge.hosts]\n", s.Port, s.Port, challengeKeys)
	for _, n := range names {
		fmt.Fprintf(&b, "%q = [%q]\n", n, s.IP)
	}
	return b.String()
}
