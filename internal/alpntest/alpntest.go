// Package alpntest is a test helper: a TLS server on a loopback address
// that answers the acme-tls/1 protocol with a tls-alpn-01 certificate
// (RFC 8737), as an ACME client does while it proves a name, or with a
// broken one, so tests can play both.
package alpntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Proof is what the certificate says; the zero value of each field but
// Name and KeyAuth is the correct proof.
type Proof struct {
	Name    string // DNS name or IP address the certificate is for
	KeyAuth string // the key authorization whose SHA-256 it carries
	// Variations that break the proof:
	NotCritical bool     // the acmeIdentifier extension is not critical
	NoExtension bool     // there is no acmeIdentifier extension
	ExtraNames  []string // more DNS names beside Name
	RawDigest   []byte   // the extension's value, instead of the digest
	Protocols   []string // what the server offers in ALPN; nil: acme-tls/1
}

// Certificate makes the self-signed certificate p describes.
func Certificate(t testing.TB, p Proof) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     p.ExtraNames,
	}
	if ip, err := netip.ParseAddr(p.Name); err == nil {
		tmpl.IPAddresses = []net.IP{ip.AsSlice()}
	} else {
		tmpl.DNSNames = append([]string{p.Name}, p.ExtraNames...)
	}
	if !p.NoExtension {
		digest := p.RawDigest
		if digest == nil {
			sum := sha256.Sum256([]byte(p.KeyAuth))
			digest = sum[:]
		}
		value, err := asn1.Marshal(digest)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}, Critical: !p.NotCritical, Value: value}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Server is a running tls-alpn-01 responder.
type Server struct {
	Port int

	t     testing.TB
	mu    sync.Mutex
	cfg   *tls.Config // for the proof Set last
	snis  []string
	alpn  [][]string
	names map[string]*tls.Config // per SNI, when set with SetFor
}

// Serve answers TLS on addr ("127.0.0.2:0") with the certificate p
// describes until the test ends. A listen error skips the test.
func Serve(t testing.TB, addr string, p Proof) *Server {
	t.Helper()
	s := &Server{t: t, names: map[string]*tls.Config{}}
	s.Set(p)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	s.Port = ln.Addr().(*net.TCPAddr).Port
	outer := &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.snis = append(s.snis, hello.ServerName)
		s.alpn = append(s.alpn, hello.SupportedProtos)
		if cfg, ok := s.names[hello.ServerName]; ok {
			return cfg, nil
		}
		return s.cfg, nil
	}}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tls.Server(conn, outer)
				defer tc.Close()
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				tc.Handshake()
			}()
		}
	}()
	return s
}

// Set makes the server show the certificate p describes from now on.
func (s *Server) Set(p Proof) {
	cfg := s.config(p)
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
}

// SetFor makes the server show p's certificate to clients that ask for
// sni, as a server proving several names at once does.
func (s *Server) SetFor(sni string, p Proof) {
	cfg := s.config(p)
	s.mu.Lock()
	s.names[sni] = cfg
	s.mu.Unlock()
}

func (s *Server) config(p Proof) *tls.Config {
	cert := Certificate(s.t, p)
	protos := p.Protocols
	if protos == nil {
		protos = []string{"acme-tls/1"}
	}
	return &tls.Config{NextProtos: protos, Certificates: []tls.Certificate{cert}}
}

// Hellos are the SNI names and ALPN protocol lists the server was offered.
func (s *Server) Hellos() ([]string, [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.snis...), append([][]string(nil), s.alpn...)
}
